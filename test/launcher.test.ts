/**
 * The launcher and the bundle as shipped: the Node version check before
 * anything else loads, `--version`, and a bundle that runs with nothing
 * beside it but the launcher. Needs `npm run build` first.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const PKG = fileURLToPath(new URL("..", import.meta.url));
const BIN = `${PKG}bin/makefilecheck`;
const { version } = JSON.parse(readFileSync(`${PKG}package.json`, "utf8")) as { version: string };

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

  it("status loads none of the bundle's chunks that hold the diff and merge libraries, the watcher or the process runner", () => {
    const dir = mkdtempSync(`${tmpdir()}/makefilecheck-loaded-`);
    try {
      // Node's require reads each bundle file with fs.readFileSync: the preload lists the files read.
      writeFileSync(
        `${dir}/list.cjs`,
        `const fs = require("fs"); const read = fs.readFileSync; const seen = [];
         fs.readFileSync = function (file, ...rest) { if (String(file).endsWith(".cjs")) seen.push(String(file)); return read.call(this, file, ...rest); };
         process.on("exit", () => process.stderr.write(seen.join("\\n")));`,
      );
      const r = spawnSync(process.execPath, ["-r", `${dir}/list.cjs`, BIN, "status", "--root", dir], { encoding: "utf8" });
      const files = r.stderr.split("\n").filter((f) => f.startsWith(`${PKG}dist/`));
      expect(files).toContain(`${PKG}dist/makefilecheck.cjs`);
      const code = files.map((f) => readFileSync(f, "utf8")).join("\n");
      // Words of each library: a message or a property name.
      const heavy = ["===================================================================", "buffer1Content", "awaitWriteFinish", "Command failed with"];
      const all = readdirSync(`${PKG}dist`).map((f) => readFileSync(`${PKG}dist/${f}`, "utf8")).join("\n");
      for (const name of heavy) {
        expect(all).toContain(name);
        expect(code).not.toContain(name);
      }
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
      expect(shipped).toEqual(expect.arrayContaining(["bin/makefilecheck", "dist/makefilecheck.cjs", "dist/THIRD-PARTY-LICENSES"]));
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
