/**
 * Budget: `makefilecheck drift` on a 10,000-snippet tree takes at most 1.5x
 * the wall time of `diff -rq` of the same two trees, medians of interleaved
 * runs, with growth close to linear from 100 to 10,000. `sync --dry-run` is
 * timed alongside for information.
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { inRoot, makeRoot, writeSymplTree } from "../../test/fixtures/sympl.js";
import { compare, median, timeOnce } from "../timing.js";

const BIN = fileURLToPath(new URL("../../bin/makefilecheck", import.meta.url));
const BUDGET = 1.5;
const SIZES = [100, 1_000, 10_000];
const PER_DIR = 100;

/**
 * An exim4 setup whose sympl.d holds `n` generated snippets (100 per
 * directory, a few lines each), sympl-local.d a copy with a baseline, and
 * then an "upgrade": 1% of upstream files changed, 1% of local ones edited.
 */
function buildTree(n: number): string {
  const root = makeRoot();
  writeSymplTree(root, { apps: ["exim4"] });
  const up = inRoot(root, "/etc/exim4/sympl.d");
  rmSync(up, { recursive: true });
  for (let i = 0; i < n; i++) {
    const dir = `${up}/${String(Math.floor(i / PER_DIR)).padStart(3, "0")}-part`;
    if (i % PER_DIR === 0) mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/${String(i % PER_DIR).padStart(2, "0")}-snippet`, `# generated snippet ${i}\n# a second line of comment\n# and a third, to look like a small config file\n`);
  }
  cpSync(up, inRoot(root, "/etc/exim4/sympl-local.d"), { recursive: true });
  // On a server the trees are older than the stat cache's 2 s safety margin
  // when sync records them; a tree made a moment ago would not be cached.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2_100);
  const adopt = spawnSync(BIN, ["sync", "--adopt", "-a", "exim4", "-q", "--root", root], { encoding: "utf8" });
  if (adopt.status !== 0) throw new Error(`bench: adopting the generated tree failed: ${adopt.stderr}`);
  for (let i = 0; i < n; i += 100) {
    const rel = `${String(Math.floor(i / PER_DIR)).padStart(3, "0")}-part/${String(i % PER_DIR).padStart(2, "0")}-snippet`;
    writeFileSync(`${up}/${rel}`, `# generated snippet ${i}, changed upstream\n`);
    writeFileSync(inRoot(root, `/etc/exim4/sympl-local.d/${String(Math.floor((i + 50) / PER_DIR)).padStart(3, "0")}-part/50-snippet`), "# edited\n");
  }
  return root;
}

/** Prints drift and sync --dry-run against diff -rq per size; true when within budget at the largest. */
export async function run(): Promise<boolean> {
  let ratio = Infinity;
  const times: number[] = [];
  for (const n of SIZES) {
    const root = buildTree(n);
    try {
      const runs = n >= 10_000 ? 7 : 11;
      const trees = [inRoot(root, "/etc/exim4/sympl.d"), inRoot(root, "/etc/exim4/sympl-local.d")];
      const [drift, diff, pairRatio] = compare(runs, [BIN, ["drift", "-a", "exim4", "--root", root]], ["diff", ["-rq", ...trees]]);
      const dry = median(Array.from({ length: 3 }, () => timeOnce(BIN, ["sync", "--dry-run", "-a", "exim4", "--root", root])));
      ratio = pairRatio;
      times.push(drift);
      console.log(
        `${String(n).padStart(6)} snippets: drift ${drift.toFixed(0)} ms, sync --dry-run ${dry.toFixed(0)} ms, diff -rq ${diff.toFixed(0)} ms: drift/diff ${ratio.toFixed(2)}`,
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
  // Start-up is the same at every size: growth is judged on the time each step adds per snippet.
  const [t100 = 0, t1k = 0, t10k = 0] = times;
  const small = (t1k - t100) / (SIZES[1]! - SIZES[0]!);
  const large = (t10k - t1k) / (SIZES[2]! - SIZES[1]!);
  console.log(
    `drift per added snippet: ${(small * 1000).toFixed(0)} µs (100→1,000), ${(large * 1000).toFixed(0)} µs (1,000→10,000); 1.0x is linear, got ${(large / small).toFixed(2)}x`,
  );
  console.log(`budget at 10,000: drift/diff ≤ ${BUDGET}`);
  return ratio <= BUDGET;
}
