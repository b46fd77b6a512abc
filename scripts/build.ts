/**
 * `npm run build`: the whole CLI and every runtime dependency in one file,
 * dist/makefilecheck.cjs, that `node` (18.19 or later) runs with no
 * node_modules. bin/makefilecheck checks the Node version, then loads it.
 */
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { build } from "esbuild";
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

rmSync("dist", { recursive: true, force: true });
await build({
  entryPoints: ["src/cli.ts"],
  outfile: "dist/makefilecheck.cjs",
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node18.19",
  define: { MAKEFILECHECK_VERSION: JSON.stringify(pkg.version), "import.meta.url": "__mfcUrl" },
  // CommonJS output keeps every module, node's own included, unloaded until
  // a command needs it (ESM output would hoist them all to start-up).
  banner: { js: 'var __mfcUrl = require("node:url").pathToFileURL(__filename).href;' },
  plugins: [yargsCommonJs],
  logLevel: "warning",
});
