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

  it("compiles the bundle with a code cache it wrote itself, and runs alike with a damaged one", () => {
    const cache = mkdtempSync(`${tmpdir()}/makefilecheck-cache-`);
    try {
      const env = { ...process.env, MAKEFILECHECK_CACHE_DIR: cache };
      const run = () => spawnSync(process.execPath, [BIN, "--version"], { encoding: "utf8", env });
      expect(run().stdout).toBe(`${version}\n`);
      const [file] = readdirSync(cache);
      expect(file).toMatch(new RegExp(`^${process.version}-${process.arch}-\\d+-\\d+-\\d+\\.v8$`));
      const made = readFileSync(`${cache}/${file}`);
      expect(run().stdout).toBe(`${version}\n`);
      expect(readFileSync(`${cache}/${file}`).equals(made)).toBe(true); // accepted: not written again
      writeFileSync(`${cache}/${file}`, "not a code cache");
      const r = run();
      expect([r.status, r.stdout, r.stderr]).toEqual([0, `${version}\n`, ""]);
      const again = readFileSync(`${cache}/${file}`); // rejected by V8, then made again
      expect(again.length).toBeGreaterThan(made.length / 2);
      run();
      expect(readFileSync(`${cache}/${file}`).equals(again)).toBe(true);
    } finally {
      rmSync(cache, { recursive: true, force: true });
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
  });
});
