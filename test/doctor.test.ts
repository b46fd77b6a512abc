/**
 * `doctor` on installed trees, called as a function on a read-only System
 * (a check that tried to write would throw): the firewall database probed
 * as the real Debian-exim user, the leftovers, the baseline, the saved
 * copies and the upgrade triggers, each passing once and failing once.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, closeSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync, ftruncateSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { CommandResult } from "../src/context.js";
import { doctor } from "../src/doctor/command.js";
import { watchRootOf } from "../src/doctor/state.js";
import { hooks } from "../src/upgrade/hooks.js";
import { RealSystem } from "../src/system/real.js";
import { ReadOnlySystem } from "../src/system/wrappers.js";
import { inRoot } from "./fixtures/sympl.js";
import { FIREWALL_DB_PATH, buildProofTree, type ProofSettings } from "./support/changes-tree.js";
import { testContext } from "./support/context.js";
import { missingBinaries } from "./support/daemons.js";
import { cannotRunSessions } from "./support/exim-session.js";
import { writeFirewallDb } from "./support/firewall-db.js";

const BIN = fileURLToPath(new URL("../bin/makefilecheck", import.meta.url));

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A root with the changes installed (see buildProofTree). */
async function installed(settings: ProofSettings = {}): Promise<string> {
  const tree = await buildProofTree(settings);
  roots.push(tree.root);
  return tree.root;
}

/** Runs doctor on `root` the way the CLI does: with a read-only System. */
async function runDoctor(root: string, apps?: ("exim4" | "dovecot")[]): Promise<CommandResult> {
  const ctx = testContext(root, { apps });
  return doctor({ ...ctx, sys: new ReadOnlySystem(new RealSystem(root)) }, { _: ["doctor"] });
}

interface Check {
  id: string;
  status: string;
  message: string;
  fix?: string;
}

/** The verdict of check `id` in `app`'s entry; undefined when it did not run. */
function verdict(result: CommandResult, app: string, id: string): Check | undefined {
  const entry = result.apps.find((a) => a.app === app);
  return (entry?.checks as Check[] | undefined)?.find((c) => c.id === id);
}

describe("doctor's report", () => {
  it("always has the system entry with the node version, and -a picks the app entries", async () => {
    const root = await installed();
    const result = await runDoctor(root, ["dovecot"]);
    expect(result.apps.map((a) => a.app)).toEqual(["system", "dovecot"]);
    expect(result.apps[0]!.node).toBe(process.version);
    expect(result.lines[0]).toContain(`node ${process.version}`);
  });

  it("never runs a check that does not apply: no firewall database configured, no firewall-db", async () => {
    const root = await installed();
    expect(verdict(await runDoctor(root), "exim4", "firewall-db")).toBeUndefined();
  });
});

const noSqlite = missingBinaries("sqlite3", "exim4") ?? cannotRunSessions();

describe.skipIf(noSqlite)("firewall-db: the database as Debian-exim reads it", () => {
  describe.each(["sympl", "nftfw"] as const)("the %s database", (flavour) => {
    async function withDb(mode: number): Promise<string> {
      const root = await installed({ firewall: flavour });
      const db = inRoot(root, FIREWALL_DB_PATH[flavour]);
      writeFirewallDb(db, flavour, [{ ip: "45.67.89.11", count: 11 }]);
      chmodSync(db, mode);
      return root;
    }

    it("passes when Debian-exim can read it", async () => {
      const result = await runDoctor(await withDb(0o644));
      expect(verdict(result, "exim4", "firewall-db")).toMatchObject({ status: "ok" });
    });

    it("fails, naming the 451 deferrals, when only root can read it", async () => {
      const result = await runDoctor(await withDb(0o600));
      const v = verdict(result, "exim4", "firewall-db")!;
      expect(v.status).toBe("fail");
      expect(v.message).toContain("exim defers every connection");
      expect(v.fix).toContain("Debian-exim");
      expect(result.code).toBe(1);
    });
  });

  it("fails when the database lacks the column the rule reads", async () => {
    const root = await installed({ firewall: "nftfw" });
    writeFirewallDb(inRoot(root, FIREWALL_DB_PATH.nftfw), "sympl", [{ ip: "45.67.89.11", count: 11 }]);
    const v = verdict(await runDoctor(root), "exim4", "firewall-db")!;
    expect(v).toMatchObject({ status: "fail" });
    expect(v.message).toContain("no such column: matchcount");
  });

  it("cannot run without root: exit 3 and one line saying so", async () => {
    const root = await installed({ firewall: "sympl" });
    writeFirewallDb(inRoot(root, FIREWALL_DB_PATH.sympl), "sympl", []);
    const run = spawnSync("/usr/sbin/runuser", ["-u", "nobody", "--", process.execPath, BIN, "--root", root, "doctor", "-a", "exim4"], { encoding: "utf8" });
    expect(run.status).toBe(3);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(/as root/);
  });

  it("fails when the database is missing", async () => {
    const root = await installed({ firewall: "sympl" });
    const v = verdict(await runDoctor(root), "exim4", "firewall-db")!;
    expect(v).toMatchObject({ status: "fail" });
    expect(v.message).toContain("is missing");
  });
});

describe("leftovers", () => {
  it("passes on a clean tree", async () => {
    const root = await installed();
    const result = await runDoctor(root, ["dovecot"]);
    expect(verdict(result, "dovecot", "leftovers")).toMatchObject({ status: "ok" });
  });

  it("fails on an upstream version waiting as .sympl-new, and names the command that settles it", async () => {
    const root = await installed();
    writeFileSync(inRoot(root, "/etc/dovecot/sympl-local.d/10-main/35-log-debug.sympl-new"), "x\n");
    const result = await runDoctor(root, ["dovecot"]);
    const v = verdict(result, "dovecot", "leftovers")!;
    expect(v.status).toBe("fail");
    expect(v.fix).toContain("makefilecheck diff 10-main/35-log-debug");
    expect(result.code).toBe(1);
    // What -q prints: one line per problem, each with its fix.
    expect(result.problems).toContainEqual(expect.stringMatching(/^dovecot: leftovers: .* — look at each with/));
  });

  it("warns on a package upgrade's leftover, without failing the run", async () => {
    const root = await installed();
    writeFileSync(inRoot(root, "/etc/dovecot/Makefile.local.dpkg-dist"), "x\n");
    const result = await runDoctor(root, ["dovecot"]);
    expect(verdict(result, "dovecot", "leftovers")).toMatchObject({ status: "warn" });
    expect(verdict(result, "dovecot", "leftovers")!.fix).toContain("makefilecheck repair");
  });

  it("warns on temp files of a killed run beside the action log and the apt hook, not on an admin's file of a similar name", async () => {
    const root = await installed();
    const system = () => runDoctor(root, ["dovecot"]).then((r) => verdict(r, "system", "leftovers")!);
    mkdirSync(inRoot(root, "/var/log"), { recursive: true });
    writeFileSync(inRoot(root, "/var/log/.keepme.mfc-999999-1"), "mine\n");
    expect(await system()).toMatchObject({ status: "ok" });
    mkdirSync(inRoot(root, "/etc/apt/apt.conf.d"), { recursive: true });
    writeFileSync(inRoot(root, "/var/log/.makefilecheck.log.makefilecheck-tmp-999999-1"), "half\n");
    writeFileSync(inRoot(root, "/etc/apt/apt.conf.d/.80makefilecheck.makefilecheck-tmp-999999-2"), "half\n");
    const v = await system();
    expect(v.status).toBe("warn");
    expect(v.message).toBe("temp files of an interrupted makefilecheck run: /var/log/.makefilecheck.log.makefilecheck-tmp-999999-1, /etc/apt/apt.conf.d/.80makefilecheck.makefilecheck-tmp-999999-2");
  });
});

describe("baseline", () => {
  it("passes while every stored file matches its hash, and fails on a damaged one", async () => {
    const root = await installed();
    expect(verdict(await runDoctor(root, ["dovecot"]), "dovecot", "baseline")).toMatchObject({ status: "ok" });
    const objects = inRoot(root, "/var/lib/makefilecheck/baseline/dovecot/objects");
    writeFileSync(join(objects, readdirSync(objects)[0]!), "damaged\n");
    const v = verdict(await runDoctor(root, ["dovecot"]), "dovecot", "baseline")!;
    expect(v).toMatchObject({ status: "fail" });
    expect(v.fix).toContain("sync --adopt -a dovecot");
  });
});

describe("saved-size", () => {
  it("passes under 100 MiB and warns over it", async () => {
    const root = await installed();
    const dir = inRoot(root, "/var/lib/makefilecheck/saved/exim4/20261202T100000Z");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "small"), "x\n");
    expect(verdict(await runDoctor(root, ["dovecot"]), "system", "saved-size")).toMatchObject({ status: "ok" });
    // A sparse file: its size counts, no disk is used.
    const fd = openSync(join(dir, "big"), "w");
    ftruncateSync(fd, 101 * 1024 * 1024);
    closeSync(fd);
    expect(verdict(await runDoctor(root, ["dovecot"]), "system", "saved-size")).toMatchObject({ status: "warn" });
  });
});

describe("triggers", () => {
  it("warns when nothing repairs after an upgrade, passes with one trigger, warns with two", async () => {
    const root = await installed();
    const none = verdict(await runDoctor(root, ["dovecot"]), "system", "triggers")!;
    expect(none).toMatchObject({ status: "warn" });
    expect(none.fix).toContain("hooks --install");

    await hooks(testContext(root), { _: ["hooks"], install: true, only: "apt", bin: "/usr/bin/makefilecheck" });
    expect(verdict(await runDoctor(root, ["dovecot"]), "system", "triggers")).toMatchObject({ status: "ok" });

    await hooks(testContext(root), { _: ["hooks"], install: true, only: "systemd", bin: "/usr/bin/makefilecheck" });
    const two = verdict(await runDoctor(root, ["dovecot"]), "system", "triggers")!;
    expect(two.status).toBe("warn");
    expect(two.message).toContain("2 upgrade triggers");
  });

  it("counts a running watch for this root, found by its command line", async () => {
    const root = await installed();
    await hooks(testContext(root), { _: ["hooks"], install: true, only: "apt", bin: "/usr/bin/makefilecheck" });
    const child = spawn(process.execPath, [BIN, "--root", root, "watch"], { stdio: "ignore" });
    try {
      const v = verdict(await runDoctor(root, ["dovecot"]), "system", "triggers")!;
      expect(v.status).toBe("warn");
      expect(v.message).toContain(`makefilecheck watch (pid ${child.pid})`);
    } finally {
      child.kill();
    }
  });

  it("reads a watcher's root from its command line", () => {
    expect(watchRootOf(["node", "/usr/bin/makefilecheck", "watch", "--make"], "/")).toBe("/");
    expect(watchRootOf(["node", "/opt/mfc/bin/makefilecheck", "--root", "srv", "watch"], "/tmp")).toBe("/tmp/srv");
    expect(watchRootOf(["node", "/opt/mfc/bin/makefilecheck", "--root=/x", "sync"], "/")).toBeNull();
    expect(watchRootOf(["vim", "watch"], "/")).toBeNull();
  });
});
