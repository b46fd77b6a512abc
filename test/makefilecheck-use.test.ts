import { chmodSync, chownSync, existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { App } from "../src/server-layout.js";
import { APPS, appPaths } from "../src/server-layout.js";
import { check, report, revert, status, use } from "../src/makefilecheck/commands.js";
import { deriveVariant } from "../src/makefilecheck/makefile.js";
import { recordPath } from "../src/makefilecheck/state.js";
import { RealSystem } from "../src/system/real.js";
import { FaultySystem } from "../src/system/wrappers.js";
import { missingBinaries } from "./support/daemons.js";
import { testContext } from "./support/context.js";
import { hashTree, inRoot, setupLegacy, upstreamMakefile, writeSymplTree } from "./fixtures/sympl.js";
import { caninstallTree } from "./support/makefilecheck-trees.js";
import { withTempRoot } from "./support/temp-root.js";
import { makeConf } from "./support/built.js";

let root: string;
withTempRoot((r) => (root = r));

const at = (server: string) => inRoot(root, server);
const read = (server: string) => readFileSync(at(server), "utf8");
const noCheck = { _: [], check: false };

const caninstall = (apps: App[] = [...APPS]) => caninstallTree(root, apps);

async function profiles(): Promise<string[]> {
  return (await report(testContext(root), { _: [] })).lines;
}

describe("use", () => {
  it("caninstall -> local: both variants derived, relative link, mode recorded, make not run", async () => {
    caninstall();
    const result = await use(testContext(root), { ...noCheck, mode: "local" });
    expect(result.code).toBe(0);
    for (const app of APPS) {
      const p = appPaths(app);
      expect(readlinkSync(at(p.makefile))).toBe("Makefile.local");
      expect(read(p.makefileSympl)).toBe(upstreamMakefile(app));
      expect(read(p.makefileLocal)).toBe(deriveVariant(p.makefile, upstreamMakefile(app), "local"));
      expect(JSON.parse(read(recordPath(app))).mode).toBe("local");
      expect(existsSync(at(p.conf))).toBe(false);
    }
    expect(result.lines).toContain("exim4: run `cd /etc/exim4 && make` to build the config and restart exim4");
    expect(await profiles()).toEqual(["exim4\tlocal", "dovecot\tlocal"]);
  });

  it("walks local -> sympl -> local -> revert -> caninstall", async () => {
    caninstall(["exim4"]);
    const ctx = () => testContext(root, { apps: ["exim4"] });
    const p = appPaths("exim4");
    await use(ctx(), { ...noCheck, mode: "local" });
    await use(ctx(), { ...noCheck, mode: "sympl" });
    expect(readlinkSync(at(p.makefile))).toBe("Makefile.sympl");
    expect((await report(ctx(), { _: [] })).lines).toEqual(["exim4\tsympl"]);
    await use(ctx(), { ...noCheck, mode: "local" });
    expect((await report(ctx(), { _: [] })).lines).toEqual(["exim4\tlocal"]);

    const reverted = await revert(ctx(), { _: [], force: true });
    expect(reverted.code).toBe(0);
    expect(lstatSync(at(p.makefile)).isFile()).toBe(true);
    expect(read(p.makefile)).toBe(upstreamMakefile("exim4"));
    expect(existsSync(at(p.makefileLocal))).toBe(false);
    expect(existsSync(at(p.makefileSympl))).toBe(false);
    expect(existsSync(at(recordPath("exim4")))).toBe(false);
    expect(readdirSync(at(p.local)).length).toBeGreaterThan(0);
    expect((await report(ctx(), { _: [] })).lines).toEqual(["exim4\tcaninstall"]);
  });

  it("adopts a legacy tree: relative link, mode recorded, variants kept", async () => {
    setupLegacy(root, "exim4");
    const p = appPaths("exim4");
    const before = read(p.makefileLocal);
    await use(testContext(root, { apps: ["exim4"] }), { ...noCheck, mode: "local" });
    expect(readlinkSync(at(p.makefile))).toBe("Makefile.local");
    expect(read(p.makefileLocal)).toBe(before);
    expect(existsSync(at("/var/lib/makefilecheck/saved"))).toBe(false);
  });

  it("sympl needs sympl-local.d too: on a vanilla tree it refuses, nothing changed", async () => {
    writeSymplTree(root, { apps: ["dovecot"] });
    const before = hashTree(root);
    await expect(use(testContext(root, { apps: ["dovecot"] }), { ...noCheck, mode: "sympl" })).rejects.toMatchObject({
      code: 2,
      message: expect.stringMatching(/^\/etc\/dovecot\/sympl-local\.d: missing — run `makefilecheck install`/),
    });
    expect(hashTree(root)).toBe(before);
  });

  it("is a no-op the second time: nothing to do, no writes", async () => {
    caninstall();
    await use(testContext(root), { ...noCheck, mode: "local" });
    const before = hashTree(root);
    const again = await use(testContext(root), { ...noCheck, mode: "local" });
    expect(again.code).toBe(0);
    expect(again.plan).toEqual([]);
    expect(again.lines).toEqual(["exim4: already uses local; nothing to do", "dovecot: already uses local; nothing to do"]);
    expect(hashTree(root)).toBe(before);
  });

  it("--dry-run leaves the tree byte-identical and shows the plan", async () => {
    caninstall();
    const before = hashTree(root);
    const result = await use(testContext(root, { dryRun: true }), { ...noCheck, mode: "local" });
    expect(hashTree(root)).toBe(before);
    const ops = result.plan!.map((op) => `${op.op} ${"path" in op ? op.path : ""}`);
    expect(ops).toContain("symlink /etc/exim4/Makefile");
    expect(ops).toContain("write /etc/dovecot/Makefile.local");
  });

  it("new files take the owner of /etc/APP and the mode of the upstream Makefile", async () => {
    caninstall(["exim4"]);
    const p = appPaths("exim4");
    chownSync(at(p.dir), 1234, 5678);
    chmodSync(at(p.makefile), 0o640);
    await use(testContext(root, { apps: ["exim4"] }), { ...noCheck, mode: "local" });
    for (const f of [p.makefileLocal, p.makefileSympl]) {
      const st = statSync(at(f));
      expect([st.uid, st.gid, st.mode & 0o777]).toEqual([1234, 5678, 0o640]);
    }
    const link = lstatSync(at(p.makefile));
    expect([link.uid, link.gid]).toEqual([1234, 5678]);
  });

  it("an apply cut short leaves the old Makefile live, and the next run finishes it", async () => {
    caninstall(["exim4"]);
    const p = appPaths("exim4");
    // Writes: state dir, journal, Makefile.local, Makefile.sympl, then the link swap fails.
    const faulty = { ...testContext(root, { apps: ["exim4"] }), sys: new FaultySystem(new RealSystem(root), 5) };
    await expect(use(faulty, { ...noCheck, mode: "local" })).rejects.toThrowError(/step 3 of \d+; steps before it are done/);
    expect(lstatSync(at(p.makefile)).isFile()).toBe(true);
    expect(read(p.makefile)).toBe(upstreamMakefile("exim4"));
    const again = await use(testContext(root, { apps: ["exim4"] }), { ...noCheck, mode: "local" });
    expect(again.code).toBe(0);
    expect(readlinkSync(at(p.makefile))).toBe("Makefile.local");
    expect(existsSync(at("/var/lib/makefilecheck/journal.json"))).toBe(false);
  });

  it("local without sympl-local.d: exit 2 telling to run install, nothing changed", async () => {
    writeSymplTree(root);
    const before = hashTree(root);
    await expect(use(testContext(root), { ...noCheck, mode: "local" })).rejects.toThrowError(
      /^\/etc\/exim4\/sympl-local\.d: missing — run `makefilecheck install`/,
    );
    expect(hashTree(root)).toBe(before);
  });

  it("refuses for every app when one app cannot switch (nothing applied anywhere)", async () => {
    caninstall(["exim4"]);
    writeSymplTree(root, { apps: ["dovecot"] });
    const before = hashTree(root);
    await expect(use(testContext(root), { ...noCheck, mode: "local" })).rejects.toMatchObject({ code: 2 });
    expect(hashTree(root)).toBe(before);
  });
});

describe("config test before going live", () => {
  const skip = missingBinaries("exim4", "dovecot", "make");

  it.skipIf(skip)("use local runs the daemon's test and refuses a broken tree, showing its error", async () => {
    caninstall();
    writeFileSync(at("/etc/exim4/sympl-local.d/00-main/99-broken"), "no_such_exim_option = 1\n");
    const before = hashTree(root);
    await expect(use(testContext(root), { _: [], mode: "local" })).rejects.toThrowError(
      /^\/etc\/exim4\/sympl-local\.d: exim4 rejects the config built from it: .*no_such_exim_option.* — fix the snippet, or pass --no-check/,
    );
    expect(hashTree(root)).toBe(before);
    // --no-check switches anyway.
    const forced = await use(testContext(root), { _: [], mode: "local", check: false });
    expect(forced.code).toBe(0);
    expect(readlinkSync(at("/etc/exim4/Makefile"))).toBe("Makefile.local");
  });

  it.skipIf(skip)("after use local, the real `make APP.conf.tmp test` passes and builds from sympl-local.d", async () => {
    caninstall();
    writeFileSync(at("/etc/exim4/sympl-local.d/00-main/98-marker"), "# local marker\n");
    const result = await use(testContext(root), { _: [], mode: "local" });
    expect(result.apps.map((a) => a.test)).toEqual(["passed", "passed"]);
    const sys = new RealSystem(root);
    for (const app of APPS) {
      const made = await sys.run("make", ["-C", at(`/etc/${app}`), `${app}.conf.tmp`, "test"]);
      expect(made.exitCode, made.stderr).toBe(0);
    }
    expect(read("/etc/exim4/exim4.conf.tmp")).toContain("# local marker");
    const checked = await check(testContext(root), { _: [] });
    expect(checked.code).toBe(0);
    expect(checked.lines).toEqual(["exim4: config test passed (/etc/exim4/sympl-local.d)", "dovecot: config test passed (/etc/dovecot/sympl-local.d)"]);
  });

  it.skipIf(skip)("--make runs `make APP.conf`, which tests and installs the config", async () => {
    caninstall(["dovecot"]);
    const result = await use(testContext(root, { apps: ["dovecot"] }), { _: [], mode: "local", make: true });
    expect(result.plan!.at(-1)).toMatchObject({ op: "run", cmd: "make", args: ["dovecot.conf"], cwd: "/etc/dovecot" });
    expect(existsSync(at("/etc/dovecot/dovecot.conf"))).toBe(true);
  });

  it.skipIf(skip)("check reports a failing live tree with exit 1 and the daemon's words", async () => {
    caninstall(["exim4"]);
    await use(testContext(root, { apps: ["exim4"] }), { ...noCheck, mode: "local" });
    writeFileSync(at("/etc/exim4/sympl-local.d/00-main/99-broken"), "no_such_exim_option = 1\n");
    const checked = await check(testContext(root, { apps: ["exim4"] }), { _: [] });
    expect(checked.code).toBe(1);
    expect(checked.lines[0]).toBe(`exim4: config test FAILED (/etc/exim4/sympl-local.d): sympl-local.d/00-main/99-broken: line 1: main option "no_such_exim_option" unknown`);
    expect(checked.lines.join("\n")).toContain("no_such_exim_option");
  });
});

describe("status", () => {
  it("says local, recorded, and make after use local; nothing to do once built", async () => {
    caninstall(["exim4"]);
    await use(testContext(root, { apps: ["exim4"] }), { ...noCheck, mode: "local" });
    const unbuilt = await status(testContext(root, { apps: ["exim4"] }), { _: [] });
    expect(unbuilt.code).toBe(1);
    expect(unbuilt.apps[0]).toMatchObject({ built: { state: "missing" }, next: "cd /etc/exim4 && make" });
    makeConf(root, "exim4");
    const result = await status(testContext(root, { apps: ["exim4"] }), { _: [] });
    expect(result.code).toBe(0);
    expect(result.apps[0]).toMatchObject({ app: "exim4", profile: "local", recorded: "local", live: "local", damage: null, next: null });
    expect(result.lines.at(-1)).toBe("  next: nothing to do");
  });

  it("points a vanilla install at install, and a caninstall one at use local", async () => {
    writeSymplTree(root, { apps: ["exim4"] });
    caninstall(["dovecot"]);
    const result = await status(testContext(root), { _: [] });
    expect(result.code).toBe(0);
    expect(result.apps.map((a) => a.next)).toEqual(["makefilecheck install", "makefilecheck use local"]);
  });
});
