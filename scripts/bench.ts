/**
 * `npm run bench`: the budgets of docs/architecture.md, each measured as a
 * ratio against a reference run on the same machine in the same run. Each
 * benchmark lives in scripts/bench/NAME.ts (shared helpers in scripts/timing.ts) and exports `run(): Promise<void>`
 * printing its own lines; `npm run bench -- NAME` runs only that one.
 */
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL("./bench/", import.meta.url));
const wanted = process.argv.slice(2);
const names = readdirSync(dir)
  .filter((f) => f.endsWith(".ts"))
  .map((f) => f.slice(0, -3))
  .filter((n) => wanted.length === 0 || wanted.includes(n))
  .sort();
let over = 0;
for (const name of names) {
  const mod = (await import(`./bench/${name}.ts`)) as { run: () => Promise<boolean> };
  console.log(`== ${name}`);
  if (!(await mod.run())) over += 1;
}
console.log(over ? `${over} benchmark(s) over budget` : "all benchmarks within budget");
