/**
 * `npm run build`: the whole CLI and every runtime dependency bundled into
 * dist/, which `node` (18.19 or later) runs with no node_modules:
 * dist/makefilecheck.cjs, the entry bin/makefilecheck loads after checking
 * the Node version, and chunks beside it that it requires only when a
 * command needs them, so that `status` does not load or compile the
 * command-line parser, the diff and merge libraries, the watcher or the
 * process runner (docs/architecture.md, Budgets). Beside them,
 * dist/THIRD-PARTY-LICENSES: the licence of every package whose code the
 * bundle holds, as their licences ask.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { createRequire } from "node:module";
import { build, transform } from "esbuild";
import type { Plugin } from "esbuild";

const pkg = (await import("../package.json", { with: { type: "json" } })).default;

/**
 * yargs 17's ESM entry wraps help text with a naive splitter that cuts
 * words in half; its CommonJS entry uses the real string-width and wrap-ansi.
 */
const yargsCommonJs: Plugin = {
  name: "yargs-commonjs",
  setup(b) {
    b.onResolve({ filter: /^yargs$/ }, () => ({ path: createRequire(import.meta.url).resolve("yargs") }));
  },
};

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
  plugins: [yargsCommonJs],
  logLevel: "warning",
  metafile: true,
  write: false,
});
// import.meta.url, for the few files that use it (a CommonJS file has none),
// and only there: working it out costs every file that states it.
const metaUrl = 'var __mfcUrl = require("node:url").pathToFileURL(__filename).href;\n';
const code = new Map<string, string>();
for (const file of result.outputFiles) {
  const cjs = await transform(file.text, { format: "cjs", platform: "node", target: "node18.19", supported: { "dynamic-import": false }, logLevel: "warning" });
  code.set(basename(file.path), cjs.code.includes("__mfcUrl") ? metaUrl + cjs.code : cjs.code);
}

/** The output files `name` needs before it runs (its static imports), and theirs, `name` included. */
function staticClosure(name: string, found = new Set<string>()): Set<string> {
  if (found.has(name)) return found;
  found.add(name);
  for (const i of result.metafile.outputs[`dist/${name}`]!.imports) if (i.kind === "import-statement" && !i.external) staticClosure(basename(i.path), found);
  return found;
}

/**
 * Every file `status` runs, in one more file, dist/status-pack.cjs: where
 * there is a code cache, the launcher reads and compiles this one file
 * instead of fourteen (docs/architecture.md, Budgets). It holds each
 * file's module function under the file's name, and the launcher runs
 * each, once, in place of reading that file; the files stay beside it,
 * whole, for node's own require and for every other command.
 */
function pack(names: Set<string>): string {
  const table = [...names].map((name) => `${JSON.stringify(name)}: function (exports, require, module, __filename, __dirname) {\n${code.get(name)}\n}`);
  return `"use strict";\nmodule.exports = {\n${table.join(",\n")}\n};\n`;
}

const statusChunk = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint === "src/makefilecheck/status.ts")?.[0];
if (!statusChunk) throw new Error("build: no output file holds src/makefilecheck/status.ts");
for (const [name, text] of code) writeFileSync(`dist/${name}`, text);
writeFileSync("dist/status-pack.cjs", pack(new Set([...staticClosure("makefilecheck.cjs"), ...staticClosure(basename(statusChunk))])));
