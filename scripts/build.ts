/**
 * `npm run build`: the whole CLI and every runtime dependency bundled into
 * dist/, which `node` (18.19 or later) runs with no node_modules:
 * dist/makefilecheck.cjs, the entry bin/makefilecheck requires after
 * checking the Node version, and chunks beside it that it requires only
 * when a command needs them, so that `status` does not load or compile the
 * diff and merge libraries, the watcher or the process runner
 * (docs/architecture.md, Budgets). Beside them,
 * dist/THIRD-PARTY-LICENSES: the licence of every package whose code the
 * bundle holds, as their licences ask.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { build, transform } from "esbuild";

const pkg = (await import("../package.json", { with: { type: "json" } })).default;

/** The licence texts of the packages under node_modules/ that went into the bundle. */
function licences(inputs: string[]): string {
  const dirs = new Set<string>();
  for (const input of inputs) {
    const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) dirs.add(m[1]!);
  }
  const parts = [...dirs].sort().map((dir) => {
    const { name, version, license } = JSON.parse(readFileSync(`${dir}/package.json`, "utf8")) as Record<string, string>;
    const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(-mit)?(\.(md|txt))?$/i.test(f));
    if (!file) throw new Error(`build: ${name} has no licence file to ship beside the bundle`);
    return `${name} ${version} (${license})\n\n${readFileSync(`${dir}/${file}`, "utf8").trim()}\n`;
  });
  return `The files in dist/ hold code of these packages, under these licences.\n\n${parts.join(`\n${"-".repeat(72)}\n\n`)}`;
}

rmSync("dist", { recursive: true, force: true });
mkdirSync("dist");
// esbuild splits code into shared chunks only for ESM output: split there,
// then turn each chunk into CommonJS (import() into a require() on demand).
const result = await build({
  entryPoints: { makefilecheck: "src/cli.ts" },
  outdir: "dist",
  entryNames: "[name]",
  chunkNames: "[name]-[hash]",
  outExtension: { ".js": ".cjs" },
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node18.19",
  define: { MAKEFILECHECK_VERSION: JSON.stringify(pkg.version), "import.meta.url": "__mfcUrl" },
  logLevel: "warning",
  metafile: true,
  write: false,
});
// import.meta.url, for the few files that use it (a CommonJS file has none).
const withMetaUrl = (code: string) => (code.includes("__mfcUrl") ? `var __mfcUrl = require("node:url").pathToFileURL(__filename).href;\n${code}` : code);

for (const file of result.outputFiles) {
  const cjs = await transform(file.text, { format: "cjs", platform: "node", target: "node18.19", supported: { "dynamic-import": false }, logLevel: "warning" });
  writeFileSync(file.path, withMetaUrl(cjs.code));
}
writeFileSync("dist/THIRD-PARTY-LICENSES", licences(Object.keys(result.metafile.inputs)));
