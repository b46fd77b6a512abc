/**
 * The built binary as an admin runs it: exit codes, one-line errors, no
 * stack traces, nothing changed on refusal. Needs `npm run build` first.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { caninstallTree, managedTree } from "./support/makefilecheck-trees.js";
import { damagePlainFile, hashTree, inRoot, setupLegacy, upstreamMakefile, writeSymplTree } from "./fixtures/sympl.js";
import { withTempRoot } from "./support/temp-root.js";
import { makeConf } from "./support/built.js";
import { jsonDocument } from "./support/json-schema.js";

const BIN = fileURLToPath(new URL("../bin/makefilecheck", import.meta.url));
const built = existsSync(fileURLToPath(new URL("../dist/makefilecheck.cjs", import.meta.url)));

let root: string;
withTempRoot((r) => (root = r));

const at = (server: string) => inRoot(root, server);

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], asUser?: number): Ran {
  const cmd = asUser === undefined ? [BIN, "--root", root, ...args] : ["setpriv", `--reuid=${asUser}`, `--regid=${asUser}`, "--clear-groups", BIN, "--root", root, ...args];
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: "utf8", env: { ...process.env, MAKEFILECHECK_DEBUG: "" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A refusal: the exit code, exactly one `makefilecheck: ...` line on stderr, nothing on stdout, no trace. */
function expectOneLine(r: Ran, code: number, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^makefilecheck: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at |Error:/);
  expect(r.stdout).toBe("");
}

describe.skipIf(!built)("bin/makefilecheck (run `npm run build` first)", () => {
  it("report prints exactly one APP<TAB>PROFILE line per app", () => {
    caninstallTree(root, ["dovecot"]);
    writeSymplTree(root, { apps: ["exim4"] });
    const r = run(["report"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("exim4\tvanilla\ndovecot\tcaninstall\n");
    expect(run(["report", "-a", "dovecot"]).stdout).toBe("dovecot\tcaninstall\n");
  });

  it("status exits 1 on damage and 0 after repair; --json has the documented shape", async () => {
    await managedTree(root);
    damagePlainFile(root, "exim4");
    expect(run([]).code).toBe(1);
    expect(run(["repair", "--no-check"]).code).toBe(0);
    expect(run([]).code).toBe(1); // nothing built yet
    for (const app of ["exim4", "dovecot"] as const) makeConf(root, app);
    const r = run(["--json"]);
    expect(r.code).toBe(0);
    const doc = jsonDocument(r.stdout);
    expect(doc.apps.map((a: { app: string }) => a.app)).toEqual(["exim4", "dovecot"]);
    expect(doc.apps[0]).toMatchObject({ app: "exim4", profile: "local", recorded: "local", live: "local", damage: null, next: null });
    expect(doc.apps[0]).toHaveProperty("drift");
    expect(doc.apps[0].built).toEqual({ state: "current", daemon: "unknown", reload: "unknown" });
  });

  it("use local --dry-run --json lists the plan and changes nothing", () => {
    caninstallTree(root);
    const before = hashTree(root);
    const r = run(["use", "local", "--dry-run", "--json", "--no-check"]);
    expect(r.code).toBe(0);
    const doc = jsonDocument(r.stdout);
    expect(doc.dryRun).toBe(true);
    expect(doc.plan.map((op: { op: string; path?: string }) => `${op.op} ${op.path}`)).toContain("symlink /etc/exim4/GNUmakefile");
    expect(hashTree(root)).toBe(before);
  });

  it("a reader that goes away (`| head`) ends the run quietly, with the command's exit code", async () => {
    await managedTree(root);
    damagePlainFile(root, "exim4");
    const child = spawn(BIN, ["--root", root, "status"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, MAKEFILECHECK_DEBUG: "" } });
    // Closed before the CLI has started, so its first write finds no reader.
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((done) => child.on("close", (c) => done(c)));
    expect(stderr).toBe("");
    expect(code).toBe(1);
  });

  it("the old spelling `local` still switches", () => {
    caninstallTree(root, ["exim4"]);
    expect(run(["local", "-a", "exim4", "--no-check"]).code).toBe(0);
    expect(run(["report", "-a", "exim4"]).stdout).toBe("exim4\tlocal\n");
  });

  describe("bad input and environment: one line, exit 2 or 3, nothing changed", () => {
    const cases: Array<[string, () => void, string[], number, RegExp]> = [
      ["--root that does not exist", () => undefined, ["--root", "/nonexistent/mfc", "status"], 2, /--root \/nonexistent\/mfc: no such directory/],
      ["--root that is a file", () => undefined, ["--root", "/etc/passwd", "status"], 2, /--root \/etc\/passwd: is a file, not a directory/],
      ["--root that is empty (an unset shell variable)", () => undefined, ["--root", "", "repair"], 2, /^makefilecheck: --root '': empty — give the directory that stands for \//],
      ["--wait that is not a number of seconds", () => writeSymplTree(root), ["--wait", "soon", "repair"], 2, /--wait soon: not a number of seconds from 0 to 3600/],
      ["an unknown app", () => writeSymplTree(root), ["-a", "postfix", "status"], 2, /postfix/],
      ["revert without --force", () => setupLegacy(root, "exim4"), ["revert"], 2, /add --force/],
      [
        "a Makefile of unexpected shape",
        () => {
          caninstallTree(root, ["exim4"]);
          writeFileSync(at("/etc/exim4/Makefile"), upstreamMakefile("exim4").replace(" -type f ", " "));
        },
        ["use", "local", "-a", "exim4", "--no-check"],
        2,
        /^makefilecheck: \/etc\/exim4\/Makefile: line 12: expected one `-type` argument in the find, found 0 — /,
      ],
      [
        "sympl-local.d that is a file",
        () => {
          writeSymplTree(root, { apps: ["exim4"] });
          writeFileSync(at("/etc/exim4/sympl-local.d"), "");
        },
        ["use", "local", "-a", "exim4"],
        3,
        /\/etc\/exim4\/sympl-local\.d: is a file, not a directory — /,
      ],
      [
        "a Makefile symlink pointing outside /etc/APP",
        () => {
          caninstallTree(root, ["exim4"]);
          unlinkSync(at("/etc/exim4/Makefile"));
          symlinkSync("/srv/Makefile", at("/etc/exim4/Makefile"));
        },
        ["repair", "-a", "exim4"],
        3,
        /\/etc\/exim4\/Makefile: symlink to \/srv\/Makefile, outside \/etc\/exim4 — /,
      ],
      ["use local without sympl-local.d", () => writeSymplTree(root), ["use", "local"], 2, /sympl-local\.d: missing — run `makefilecheck install`/],
    ];
    it.each(cases)("%s", (_name, build, args, code, pattern) => {
      build();
      const before = hashTree(root);
      const r = args[0] === "--root" ? runRaw(args) : run(args);
      expectOneLine(r, code, pattern);
      // A refusal of the environment leaves one thing: the action log's line saying the run failed.
      if (code === 3) expect(takeActionLog()).toMatch(/ FAILED \(exit 3\): /);
      expect(hashTree(root)).toBe(before);
    });

    it("status on a Makefile of unexpected shape says fatal with the line, exit 2", () => {
      writeSymplTree(root, { apps: ["exim4"] });
      writeFileSync(at("/etc/exim4/Makefile"), upstreamMakefile("exim4").replace(/^snippets_dir.*\n/m, ""));
      const r = run(["-a", "exim4"]);
      expect(r.code).toBe(2);
      expect(r.stdout).toContain("exim4: fatal");
      expect(r.stdout).toContain("/etc/exim4/Makefile: no `snippets_dir := DIR` line");
    });

    const asNobody = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "-e", "0"]).status === 0;
    it.skipIf(!asNobody)("permission denied (run as nobody on a tree it can read but not write)", () => {
      caninstallTree(root, ["exim4"]);
      mkdirSync(at("/var/lib/makefilecheck"), { recursive: true });
      chmodSync(at("/var/lib/makefilecheck"), 0o755);
      const before = hashTree(root);
      expectOneLine(run(["use", "local", "-a", "exim4", "--no-check"], 65534), 3, /permission denied — run makefilecheck as root$/);
      expect(hashTree(root)).toBe(before);
      // Reading needs no rights beyond reading.
      expect(run(["report", "-a", "exim4"], 65534).stdout).toBe("exim4\tcaninstall\n");
    });

    it("an immutable directory met part way: one line naming it, no note before it, the run's own steps undone, no journal left", () => {
      writeSymplTree(root);
      spawnSync("chattr", ["+i", at("/etc/dovecot")]);
      let r: Ran;
      try {
        r = run(["install", "--no-check", "--set", "AUTO_IMAP_PORT=1143", "--set", "AUTO_IMAPS_PORT=1993"]);
      } finally {
        spawnSync("chattr", ["-i", at("/etc/dovecot")]);
      }
      expectOneLine(r, 3, new RegExp(`${at("/etc/dovecot")} is immutable \\(chattr \\+i\\): not even root may change it — if that is not meant, \`chattr -i ${at("/etc/dovecot")}\`.*the steps before it were undone: nothing was changed\\)$`));
      expect(existsSync(at("/etc/exim4/sympl-local.d"))).toBe(false);
      expect(existsSync(at("/var/lib/makefilecheck/journal.json"))).toBe(false);
      // Nothing blocks the next run.
      expect(run(["install", "--no-check", "--set", "AUTO_IMAP_PORT=1143", "--set", "AUTO_IMAPS_PORT=1993"]).code).toBe(0);
    });

    const canMount = spawnSync("unshare", ["-m", "true"]).status === 0;
    it.skipIf(!canMount)("a read-only mount: one line saying what is read-only, nothing changed, no journal left", () => {
      caninstallTree(root);
      const dir = at("/etc/dovecot");
      const script = `mount --make-rprivate / && mount --bind ${dir} ${dir} && mount -o remount,ro,bind ${dir} && exec "$@"`;
      const ran = spawnSync("unshare", ["-m", "sh", "-c", script, "sh", BIN, "--root", root, "use", "local", "--no-check"], { encoding: "utf8" });
      expectOneLine({ code: ran.status, stdout: ran.stdout, stderr: ran.stderr }, 3, new RegExp(`the file system holding ${dir} is mounted read-only — remount it read-write \\(\`findmnt -T ${dir}\` shows the mount\\)`));
      expect(existsSync(at("/var/lib/makefilecheck/journal.json"))).toBe(false);
      expect(existsSync(at("/etc/exim4/Makefile.local"))).toBe(false);
      expect(run(["report"]).stdout).toBe("exim4\tcaninstall\ndovecot\tcaninstall\n");
    });
  });
});

/** The action log's text, removed with the directories it alone needed, so that the tree compares as before the run. */
function takeActionLog(): string {
  const text = readFileSync(at("/var/log/makefilecheck.log"), "utf8");
  rmSync(at("/var/log/makefilecheck.log"));
  for (const dir of ["/var/log", "/var"]) if (readdirSync(at(dir)).length === 0) rmdirSync(at(dir));
  return text;
}

/** Runs the binary with exactly `args` (no --root added). */
function runRaw(args: string[]): Ran {
  const r = spawnSync(BIN, args, { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

