/**
 * The .deb as Debian expects it (scripts/package.ts, run in a scratch
 * directory so that it leaves nothing in the tree): the doc directory
 * carries the README and a README.Debian saying what installing, removing
 * and purging the package do. Needs `npm run build` (npm test does it
 * first) and dpkg-deb. It also ships the JSON Schemas of the --json documents.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const DOC = "./usr/share/doc/makefilecheck";
let scratch = "";
let deb = "";

beforeAll(() => {
  if (!existsSync(join(REPO, "dist/makefilecheck.cjs"))) throw new Error("dist/ is missing: run `npm run build` first");
  scratch = mkdtempSync(join(tmpdir(), "makefilecheck-package-"));
  for (const name of ["package.json", "dist", "bin", "packaging", "README.md", "schema", "node_modules"]) symlinkSync(join(REPO, name), join(scratch, name));
  const made = spawnSync(process.execPath, ["--import", "tsx", join(REPO, "scripts/package.ts")], { cwd: scratch, encoding: "utf8" });
  if (made.status !== 0) throw new Error(`scripts/package.ts failed: ${made.stderr}`);
  deb = join(scratch, made.stdout.trim());
}, 60_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** One file of the package's payload. */
function payload(path: string): Buffer {
  const tar = spawnSync("dpkg-deb", ["--fsys-tarfile", deb], { maxBuffer: 64 << 20 });
  const file = spawnSync("tar", ["-xOf", "-", path], { input: tar.stdout, maxBuffer: 64 << 20 });
  if (file.status !== 0) throw new Error(`${path} is not in the package: ${file.stderr.toString()}`);
  return file.stdout;
}

describe("/usr/share/doc/makefilecheck", () => {
  it("carries the README, gzipped as Debian Policy asks of documentation over 4 kB", () => {
    expect(gunzipSync(payload(`${DOC}/README.md.gz`)).equals(readFileSync(join(REPO, "README.md")))).toBe(true);
  });

  it("carries a README.Debian saying what installing, removing and purging do", () => {
    const text = payload(`${DOC}/README.Debian`).toString("utf8");
    expect(text).toBe(readFileSync(join(REPO, "packaging/debian/README.Debian"), "utf8"));
    expect(text).toMatch(/^What installing the package does\n-+\n[^]*changes nothing in \/etc\/exim4 or \/etc\/dovecot, and it enables no\nupgrade trigger/m);
    expect(text).toMatch(/^What removing it does\n-+\n[^]*leaves your configuration/m);
    expect(text).toMatch(/^What purging it does\n-+\n[^]*\/var\/lib\/makefilecheck[^]*\/var\/log\/makefilecheck\.log[^]*never\ndeletes your configuration/m);
  });
});

describe("/usr/share/makefilecheck/schema", () => {
  it("carries the JSON Schema of every --json document, as in the repository", () => {
    for (const name of ["common", "status", "install", "error", "watch"]) {
      expect(payload(`./usr/share/makefilecheck/schema/${name}.json`).equals(readFileSync(join(REPO, `schema/${name}.json`)))).toBe(true);
    }
  });
});
