/**
 * Errors through the CLI's `main`: under --json also one JSON document on
 * stdout with the parts of the stderr line; a programming error is an
 * internal error (exit 70), never passed off as the machine's fault (3).
 */
import { mkdirSync, symlinkSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { main } from "../src/cli.js";
import { RealSystem } from "../src/system/real.js";
import { hashTree, writeSymplTree } from "./fixtures/sympl.js";
import { caninstallTree } from "./support/makefilecheck-trees.js";
import { withTempRoot } from "./support/temp-root.js";
import { captureOutput } from "./support/capture.js";
import { jsonDocument } from "./support/json-schema.js";

let root: string;
withTempRoot((r) => (root = r));

let out: string[];
let err: string[];
captureOutput((o, e) => ((out = o), (err = e)));

/** The one stderr line and the one stdout document of a run that failed. */
function failure(): { line: string; doc: unknown } {
  expect(err).toHaveLength(1);
  return { line: err[0]!, doc: jsonDocument(out.join("")) };
}

describe("--json errors", () => {
  it.each([
    [
      ["--json", "--root", "/nonexistent/mfc", "status"],
      2,
      { path: "--root /nonexistent/mfc", message: "no such directory", fix: "give the directory itself that stands for /" },
    ],
    [["stauts", "--json"], 2, { path: "stauts", message: "unknown command", fix: "did you mean `status`? see makefilecheck --help" }],
    [["--json", "use", "lokal"], 2, { path: "use lokal", message: "unknown MODE", fix: "did you mean `local`? give local (sympl-local.d) or sympl (sympl.d)" }],
  ])("%j: the stderr line and {error:{exit,path,message,fix}} on stdout", async (argv, exit, parts) => {
    expect(await main(argv)).toBe(exit);
    const { line, doc } = failure();
    expect(line).toBe(`makefilecheck: ${parts.path}: ${parts.message} — ${parts.fix}\n`);
    expect(doc).toEqual({ schema: "makefilecheck/error/1", error: { exit, kind: "InputError", ...parts } });
  });

  it("an error thrown inside a command has the same parts", async () => {
    writeSymplTree(root, { apps: ["exim4"] });
    expect(await main(["--root", root, "--json", "-a", "exim4", "use", "local"])).toBe(2);
    const { line, doc } = failure();
    expect(doc).toMatchObject({ error: { exit: 2, path: "/etc/exim4/sympl-local.d", message: "missing", fix: expect.stringMatching(/^run `makefilecheck install`/) } });
    const { path, message, fix } = (doc as { error: { path: string; message: string; fix: string } }).error;
    expect(line).toBe(`makefilecheck: ${path}: ${message} — ${fix}\n`);
  });

  it("without --json nothing goes to stdout", async () => {
    expect(await main(["stauts"])).toBe(2);
    expect(out).toEqual([]);
    expect(err).toHaveLength(1);
  });
});

describe("a programming error is internal (exit 70), not the environment (3)", () => {
  it("inside apply: a TypeError from a plan step", async () => {
    caninstallTree(root, ["exim4"]);
    const before = hashTree(root);
    vi.spyOn(RealSystem.prototype, "symlink").mockImplementation(() => {
      throw new TypeError("Cannot read properties of undefined (reading 'mode')");
    });
    expect(await main(["--root", root, "--json", "use", "local", "-a", "exim4", "--no-check"])).toBe(70);
    const { line, doc } = failure();
    expect(line).toMatch(/^makefilecheck: internal error: Cannot read properties of undefined \(reading 'mode'\) \(step \d+ of \d+; .*\) — a bug in makefilecheck, not a verdict on this machine: run again with MAKEFILECHECK_DEBUG=1 and report what it prints\n$/);
    expect(doc).toMatchObject({ error: { exit: 70, path: null } });
    expect(hashTree(root)).not.toBe(before); // steps before it were done: the journal finishes them next time
  });

  it("an errno failure inside apply stays the environment's: exit 3", async () => {
    caninstallTree(root, ["exim4"]);
    vi.spyOn(RealSystem.prototype, "symlink").mockImplementation(() => {
      throw Object.assign(new Error("EIO: i/o error, symlink"), { code: "EIO" });
    });
    expect(await main(["--root", root, "use", "local", "-a", "exim4", "--no-check"])).toBe(3);
    expect(err.join("")).toMatch(/^makefilecheck: EIO: i\/o error, symlink \(step \d+ of \d+; /);
  });

  it("outside apply too", async () => {
    vi.spyOn(RealSystem.prototype, "stat").mockImplementation(() => {
      throw new TypeError("x is not a function");
    });
    expect(await main(["--root", root, "status"])).toBe(70);
    expect(err.join("")).toMatch(/^makefilecheck: internal error: x is not a function — a bug in makefilecheck/);
  });
});

describe("what the admin gave, quoted in the one line", () => {
  it.each([
    [["--root", "/nonexistent/a\nb", "status"], "makefilecheck: --root /nonexistent/a\\x0ab: no such directory — give the directory itself that stands for /\n"],
    [["install", "--config", "/nonexistent/a\nb"], "makefilecheck: /nonexistent/a\\x0ab: no such settings file — give an existing file, or run `makefilecheck install --init`\n"],
    [["hooks", "--install", "--bin", "/usr/bin/make\nfilecheck"], "makefilecheck: --bin /usr/bin/make\\x0afilecheck: not a plain absolute path (letters, digits, . _ + - /) — give the absolute path of the installed makefilecheck\n"],
    [["install", "--config", ""], "makefilecheck: --config '': empty — give the path of the settings file\n"],
  ])("%j: a newline is escaped, an empty value said to be empty", async (argv, line) => {
    writeSymplTree(root);
    const args = argv[0] === "--root" ? argv : ["--root", root, ...argv];
    expect(await main(args)).toBe(2);
    expect(err).toEqual([line]);
  });

  it("a root whose etc is a symlink is refused before anything is read or written (exit 2)", async () => {
    const elsewhere = `${root}/elsewhere`;
    mkdirSync(`${root}/copy`);
    caninstallTree(elsewhere, ["exim4"]);
    symlinkSync("../elsewhere/etc", `${root}/copy/etc`);
    const before = hashTree(root);
    expect(await main(["--root", `${root}/copy`, "use", "local", "-a", "exim4", "--no-check"])).toBe(2);
    expect(err).toEqual([`makefilecheck: --root ${root}/copy: ${root}/copy/etc is a symlink (to ../elsewhere/etc): what is below it is outside the root — give a root whose directories are its own (a copy made with \`cp -a\` is)\n`]);
    expect(hashTree(root)).toBe(before);
    expect(await main(["--root", `${root}/copy`, "status"])).toBe(2);
  });
});
