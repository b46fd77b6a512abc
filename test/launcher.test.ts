/**
 * The launcher and the bundle as shipped: the Node version check before
 * anything else loads, `--version`, and a bundle that runs with nothing
 * beside it but the launcher. Needs `npm run build` first.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { writeSymplTree } from "./fixtures/sympl.js";

const PKG = fileURLToPath(new URL("..", import.meta.url));
const BIN = `${PKG}bin/makefilecheck`;
const { version } = JSON.parse(readFileSync(`${PKG}package.json`, "utf8")) as { version: string };

/** The name the launcher gives this Node's code cache of `file`. */
function cacheName(file: string): string {
  const st = statSync(file);
  return `${process.version}-${process.arch}-${st.size}-${Math.floor(st.mtimeMs)}-${st.ino}.v8`;
}

/** Runs the launcher under this Node, claiming to be Node `claimed` when given. */
function launch(args: string[], claimed?: string, bin = BIN) {
  const pretend = claimed === undefined ? [] : ["--import", `data:text/javascript,Object.defineProperty(process,"versions",{value:{...process.versions,node:"${claimed}"}})`];
  return spawnSync(process.execPath, [...pretend, bin, ...args], { encoding: "utf8" });
}

describe("launcher", () => {
  it.each(["18.18.2", "16.20.2", "12.22.12"])("refuses Node %s with one line and exit 3", (claimed) => {
    const r = launch(["status"], claimed);
    expect(r.status).toBe(3);
    expect(r.stderr).toBe(`makefilecheck: needs Node.js 18.19 or later, found ${claimed} — install Debian's nodejs\n`);
    expect(r.stdout).toBe("");
  });

  it("runs on Node 18.19 and prints the package's version", () => {
    const r = launch(["--version"], "18.19.0");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`${version}\n`);
    expect(r.status).toBe(0);
  });

  it("compiles the status bundle with a code cache it wrote itself after a status run, and runs alike with a damaged one", () => {
    const cache = mkdtempSync(`${tmpdir()}/makefilecheck-cache-`);
    const root = mkdtempSync(`${tmpdir()}/makefilecheck-root-`);
    try {
      writeSymplTree(root);
      const env = { ...process.env, MAKEFILECHECK_CACHE_DIR: cache };
      const run = () => spawnSync(process.execPath, [BIN, "status", "--root", root], { encoding: "utf8", env });
      const caches = () => Object.fromEntries(readdirSync(cache).map((f) => [f, readFileSync(`${cache}/${f}`)]));
      const first = run();
      expect(first.stdout).toMatch(/^exim4: vanilla/m);
      const made = caches();
      expect(Object.keys(made)).toEqual([cacheName(`${PKG}dist/status.cjs`)]);
      expect(run()).toMatchObject({ status: first.status, stdout: first.stdout, stderr: first.stderr });
      expect(caches()).toEqual(made); // accepted: not written again
      for (const name of Object.keys(made)) writeFileSync(`${cache}/${name}`, "not a code cache");
      expect(run()).toMatchObject({ status: first.status, stdout: first.stdout, stderr: first.stderr });
      const again = caches(); // rejected by V8, then made again
      expect(Object.keys(again)).toEqual(Object.keys(made));
      for (const name of Object.keys(made)) expect(again[name]!.length).toBeGreaterThan(made[name]!.length / 2);
      run();
      expect(caches()).toEqual(again);
    } finally {
      rmSync(cache, { recursive: true, force: true });
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("keeps no cache of the status bundle from a run that compiled less than status does: --version, --help, a failed run, another command", () => {
    const cache = mkdtempSync(`${tmpdir()}/makefilecheck-cache-`);
    const root = mkdtempSync(`${tmpdir()}/makefilecheck-root-`);
    try {
      const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, MAKEFILECHECK_CACHE_DIR: cache } });
      expect(run(["--version"]).stdout).toBe(`${version}\n`);
      expect(run(["status", "--help"]).status).toBe(0);
      expect(run(["status", "--root", root]).status).toBe(3); // an empty root: nothing to report
      expect(readdirSync(cache)).toEqual([]);
      writeSymplTree(root);
      expect(run(["install", "--dry-run", "--root", root]).status).toBe(0);
      const made = readdirSync(cache);
      expect(made).toContain(cacheName(`${PKG}dist/makefilecheck.cjs`));
      expect(made).not.toContain(cacheName(`${PKG}dist/status.cjs`));
    } finally {
      rmSync(cache, { recursive: true, force: true });
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("runs status from its one-file bundle with one code cache, and other commands from the full bundle", () => {
    const cache = mkdtempSync(`${tmpdir()}/makefilecheck-cache-`);
    const root = mkdtempSync(`${tmpdir()}/makefilecheck-root-`);
    try {
      writeSymplTree(root);
      const run = (args: string[], cacheDir: string) => spawnSync(process.execPath, [BIN, ...args, "--root", root], { encoding: "utf8", env: { ...process.env, MAKEFILECHECK_CACHE_DIR: cacheDir } });
      const plain = run(["status"], `${cache}/none`);
      expect(plain.stdout).toMatch(/^exim4: vanilla/m);
      expect(run(["status"], cache)).toMatchObject({ status: plain.status, stdout: plain.stdout, stderr: plain.stderr });
      const made = readdirSync(cache);
      expect(made).toEqual([cacheName(`${PKG}dist/status.cjs`)]);
      expect(run(["status"], cache).stdout).toBe(plain.stdout);
      expect(readdirSync(cache)).toEqual(made); // its cache was taken, not made again
      // Not the status bundle's: handed to the full one, whose errors are worded as ever.
      const drift = run(["drift"], cache);
      expect(drift.stderr).toMatch(/^makefilecheck: \/etc\/exim4\/sympl-local\.d: missing — run `makefilecheck install`/);
      expect(drift.status).toBe(3);
    } finally {
      rmSync(cache, { recursive: true, force: true });
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("status reads one file of the bundle, holding none of the command-line parser, the diff and merge libraries, the watcher or the process runner", () => {
    const dir = mkdtempSync(`${tmpdir()}/makefilecheck-loaded-`);
    try {
      // The launcher reads each bundle file it runs with fs.readFileSync: the preload lists the files read.
      writeFileSync(
        `${dir}/list.cjs`,
        `const fs = require("fs"); const read = fs.readFileSync; const seen = [];
         fs.readFileSync = function (file, ...rest) { if (String(file).endsWith(".cjs")) seen.push(String(file)); return read.call(this, file, ...rest); };
         process.on("exit", () => process.stderr.write(seen.join("\\n")));`,
      );
      const r = spawnSync(process.execPath, ["-r", `${dir}/list.cjs`, BIN, "status", "--root", dir], { encoding: "utf8", env: { ...process.env, MAKEFILECHECK_CACHE_DIR: `${dir}/none` } });
      const files = r.stderr.split("\n").filter((f) => f.startsWith(`${PKG}dist/`));
      expect(files).toEqual([`${PKG}dist/status.cjs`]);
      const code = files.map((f) => readFileSync(f, "utf8")).join("\n");
      // Words of each library that minifying keeps: a message or a property name.
      const heavy = ["Not enough non-option arguments", "===================================================================", "buffer1Content", "awaitWriteFinish", "Command failed with"];
      const all = readdirSync(`${PKG}dist`).map((f) => readFileSync(`${PKG}dist/${f}`, "utf8")).join("\n");
      for (const name of heavy) {
        expect(all).toContain(name);
        expect(code).not.toContain(name);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("status writes its lines without building Node's stream objects (they cost the start-up budget)", () => {
    const dir = mkdtempSync(`${tmpdir()}/makefilecheck-streams-`);
    try {
      writeFileSync(`${dir}/list.cjs`, `process.on("exit", () => require("fs").writeSync(2, process.moduleLoadList.join("\\n")));`);
      const r = spawnSync(process.execPath, ["-r", `${dir}/list.cjs`, BIN, "status", "--root", dir], { encoding: "utf8" });
      expect(r.stdout).toMatch(/^exim4: /m);
      expect(r.stderr.split("\n")).not.toContain("NativeModule stream");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("ends quietly, with the command's exit code, when the reader of its output has gone", () => {
    const dir = mkdtempSync(`${tmpdir()}/makefilecheck-epipe-`);
    try {
      // `true` has exited long before Node has started: status (exit 3 on an empty root) writes into a pipe nobody reads.
      const r = spawnSync("bash", ["-c", '"$0" status --root "$1" | true; echo "exit ${PIPESTATUS[0]}"', BIN, dir], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("exit 3\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("bundle", () => {
    const alone = mkdtempSync(`${tmpdir()}/makefilecheck-alone-`);
    afterAll(() => rmSync(alone, { recursive: true, force: true }));

    it("runs with no node_modules and no package.json beside it", () => {
      for (const dir of ["bin", "dist"]) cpSync(`${PKG}${dir}`, `${alone}/${dir}`, { recursive: true });
      expect(launch(["--version"], undefined, `${alone}/bin/makefilecheck`).stdout).toBe(`${version}\n`);
      const help = launch(["sync", "--help"], undefined, `${alone}/bin/makefilecheck`);
      expect(help.status).toBe(0);
      expect(help.stdout).toMatch(/--take-upstream/);
      const r = launch(["status", "--root", alone], undefined, `${alone}/bin/makefilecheck`);
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(/^exim4: /m);
    });

    it("ships by npm as the bundle alone: npm pack builds first, and npm install -g of the tarball runs with nothing to resolve", () => {
      const manifest = JSON.parse(readFileSync(`${PKG}package.json`, "utf8")) as Record<string, Record<string, string> | undefined>;
      expect(manifest.scripts?.prepack).toBe("npm run build");
      expect(manifest.dependencies ?? {}).toEqual({});
      // The build has run (npm test builds): pack without building again under the other tests' feet.
      const npm = (args: string[]) => spawnSync("npm", args, { cwd: PKG, encoding: "utf8", env: { ...process.env, npm_config_audit: "false", npm_config_fund: "false" } });
      const pack = npm(["pack", "--ignore-scripts", "--json", "--pack-destination", alone]);
      expect(pack.status).toBe(0);
      const [{ filename, files }] = JSON.parse(pack.stdout) as [{ filename: string; files: { path: string }[] }];
      const shipped = files.map((f) => f.path);
      expect(shipped).toEqual(expect.arrayContaining(["bin/makefilecheck", "dist/makefilecheck.cjs", "dist/status.cjs", "dist/THIRD-PARTY-LICENSES"]));
      expect(shipped.filter((f) => !/^(bin|dist)\//.test(f)).sort()).toEqual(["README.md", "package.json"]);
      const install = npm(["install", "-g", "--offline", "--prefix", `${alone}/prefix`, `${alone}/${filename}`]);
      expect(install.status).toBe(0);
      const installed = `${alone}/prefix/bin/makefilecheck`;
      expect(launch(["--version"], undefined, installed).stdout).toBe(`${version}\n`);
      const r = launch(["status", "--root", alone], undefined, installed);
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(/^exim4: /m);
    });
  });
});
