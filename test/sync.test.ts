/**
 * sync, drift and diff on fixture trees, called as functions on a real
 * temp root: each row of the sync table in docs/sympl.md, retirements, new
 * directories, the 60-sni link, merges and conflicts, byte-exact copies,
 * dry runs, and after every sync the real daemons' verdict on the result.
 */
import { chmodSync, chownSync, existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { beforeEach, describe, expect, it } from "vitest";
import type { CommandResult } from "../src/context.js";
import type { App } from "../src/server-layout.js";
import { applyPlan } from "../src/plan.js";
import { planCreateLocalTree } from "../src/tree/clone.js";
import { diff, drift, sync } from "../src/sync/commands.js";
import { summarizeDrift } from "../src/sync/drift.js";
import { RealSystem } from "../src/system/real.js";
import { FaultySystem } from "../src/system/wrappers.js";
import { daemonAccepts, hashTree, inRoot, setupLegacy, upgradeUpstream, writeSymplTree } from "./fixtures/sympl.js";
import { missingBinaries } from "./support/daemons.js";
import { testContext } from "./support/context.js";
import { withTempRoot } from "./support/temp-root.js";

let root: string;
withTempRoot((r) => (root = r));

/** Host path of a snippet in one of `app`'s trees. */
const at = (app: App, rel: string, tree: "sympl.d" | "sympl-local.d" = "sympl-local.d") => inRoot(root, `/etc/${app}/${tree}/${rel}`);
const read = (app: App, rel: string, tree?: "sympl.d" | "sympl-local.d") => readFileSync(at(app, rel, tree), "utf8");

/** A vanilla install plus sympl-local.d made by the tool (so a baseline exists). */
async function freshLocal(apps: App[] = ["exim4", "dovecot"]): Promise<void> {
  writeSymplTree(root, { apps });
  const sys = new RealSystem(root);
  for (const app of apps) await applyPlan(sys, "test", planCreateLocalTree(sys, app, new Date()), () => new Date());
}

type Cmd = typeof sync;
async function run(cmd: Cmd, args: Record<string, unknown> = {}, opts: { apps?: App[]; dryRun?: boolean } = {}): Promise<CommandResult> {
  return cmd(testContext(root, { apps: opts.apps ?? ["exim4"], dryRun: opts.dryRun }), { _: [], ...args });
}

/** Drift entries of the first app as `{path: state}`. */
async function states(app: App = "exim4"): Promise<Record<string, string>> {
  const result = await run(drift, {}, { apps: [app] });
  const entries = result.apps[0]?.entries as Array<{ path: string; state: string }>;
  return Object.fromEntries(entries.map((e) => [e.path, e.state]));
}

const skipDaemons = missingBinaries("exim4", "dovecot");
/** The real daemon accepts the config built from sympl-local.d. */
function expectDaemonAccepts(app: App): void {
  if (skipDaemons) return;
  const verdict = daemonAccepts(root, app, "sympl-local.d");
  expect(verdict.output, `${app} rejected sympl-local.d`).toBe(verdict.ok ? verdict.output : "(accepted)");
}

/** Hash of everything sync manages: /etc and the baseline (drift's stat cache may be refreshed, being a cache). */
const managedHash = () => hashTree(inRoot(root, "/etc")) + hashTree(inRoot(root, "/var/lib/makefilecheck/baseline"));

const GENERAL = "00-main/10-general";
const upstreamEdit = (text: string) => `# upstream note added by a later release\n${text}`;
const localEdit = (text: string) => `${text}# local note by the admin\n`;

describe("creating sympl-local.d", () => {
  it("copies every snippet with its mode, links 60-sni relatively, and records a baseline", async () => {
    writeSymplTree(root);
    chmodSync(at("exim4", GENERAL, "sympl.d"), 0o640);
    const sys = new RealSystem(root);
    await applyPlan(sys, "test", planCreateLocalTree(sys, "exim4", new Date()), () => new Date());
    await applyPlan(sys, "test", planCreateLocalTree(sys, "dovecot", new Date()), () => new Date());
    expect(read("exim4", GENERAL)).toBe(read("exim4", GENERAL, "sympl.d"));
    expect(statSync(at("exim4", GENERAL)).mode & 0o777).toBe(0o640);
    expect(lstatSync(at("dovecot", "10-main/60-sni")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(at("dovecot", "10-main/60-sni"))).toBe("../../sympl.d/10-main/60-sni");
    expect(existsSync(inRoot(root, "/var/lib/makefilecheck/baseline/exim4/manifest.json"))).toBe(true);
    expect(await states("exim4")).toEqual({});
    expect((await run(drift, {}, { apps: ["dovecot"] })).code).toBe(0);
    expectDaemonAccepts("exim4");
    expectDaemonAccepts("dovecot");
  });
});

describe("the section 5 table", () => {
  beforeEach(async () => {
    await freshLocal();
  });

  it("U same, L same: clean, and sync has nothing to do", async () => {
    const before = managedHash();
    const result = await run(sync);
    expect(result.code).toBe(0);
    expect(result.plan?.map((op) => op.op)).toEqual(["cache"]); // drift's stat cache, rewritten only if it changed
    expect(result.lines).toContain("exim4: nothing to do");
    expect(managedHash()).toBe(before);
  });

  it("U same, L changed: the local change is kept", async () => {
    writeFileSync(at("exim4", GENERAL), localEdit(read("exim4", GENERAL)));
    expect(await states()).toEqual({ [GENERAL]: "local-modified" });
    expect((await run(drift)).code).toBe(0);
    const mine = read("exim4", GENERAL);
    expect((await run(sync)).code).toBe(0);
    expect(read("exim4", GENERAL)).toBe(mine);
  });

  it("U changed, L same: the update reaches L, the old version is saved, drift is clean again", async () => {
    const old = read("exim4", GENERAL);
    upgradeUpstream(root, "exim4", { modify: { [GENERAL]: upstreamEdit(old) } });
    expect(await states()).toEqual({ [GENERAL]: "upstream-modified" });
    expect((await run(drift)).code).toBe(1);
    const result = await run(sync);
    expect(result.code).toBe(0);
    expect(read("exim4", GENERAL)).toBe(upstreamEdit(old));
    const saved = result.apps[0]?.saved as string;
    expect(readFileSync(inRoot(root, `${saved}/${GENERAL}`), "utf8")).toBe(old);
    expect(result.lines.join("\n")).toContain(saved);
    expect(await states()).toEqual({});
    expectDaemonAccepts("exim4");
  });

  it("U changed, L changed to the same text: converged, nothing written to L", async () => {
    const next = upstreamEdit(read("exim4", GENERAL));
    upgradeUpstream(root, "exim4", { modify: { [GENERAL]: next } });
    writeFileSync(at("exim4", GENERAL), next);
    expect(await states()).toEqual({ [GENERAL]: "converged" });
    expect((await run(drift)).code).toBe(0);
    const result = await run(sync);
    expect(result.plan?.some((op) => "path" in op && op.path.includes("sympl-local.d"))).toBe(false);
    expect(await states()).toEqual({});
  });

  it("U changed, L changed elsewhere in the file: a clean three-way merge is written", async () => {
    const base = read("exim4", GENERAL);
    upgradeUpstream(root, "exim4", { modify: { [GENERAL]: upstreamEdit(base) } });
    writeFileSync(at("exim4", GENERAL), localEdit(base));
    expect(await states()).toEqual({ [GENERAL]: "conflict" });
    const result = await run(sync);
    expect(result.code).toBe(0);
    expect(result.apps[0]?.entries).toEqual([{ path: GENERAL, state: "conflict", action: "merged" }]);
    expect(read("exim4", GENERAL)).toBe(localEdit(upstreamEdit(base)));
    expect(existsSync(`${at("exim4", GENERAL)}.sympl-new`)).toBe(false);
    expect(await states()).toEqual({ [GENERAL]: "local-modified" });
    expectDaemonAccepts("exim4");
  });

  it("U and L changed the same line: L kept, U beside it as .sympl-new, exit 1 until it is dealt with", async () => {
    const base = read("exim4", GENERAL);
    const line = base.split("\n")[0]!;
    const up = base.replace(line, "# upstream rewording of the first line");
    const mine = base.replace(line, "# the admin's rewording of the first line");
    upgradeUpstream(root, "exim4", { modify: { [GENERAL]: up } });
    writeFileSync(at("exim4", GENERAL), mine);
    const result = await run(sync);
    expect(result.code).toBe(1);
    expect(read("exim4", GENERAL)).toBe(mine);
    expect(readFileSync(`${at("exim4", GENERAL)}.sympl-new`, "utf8")).toBe(up);
    expect(result.lines.join("\n")).toMatch(/CONFLICT\s+00-main\/10-general .*sympl-new/);
    expect(await states()).toEqual({ [GENERAL]: "local-modified", [`${GENERAL}.sympl-new`]: "waiting" });
    expect((await run(drift)).code).toBe(1);
    // The .sympl-new has a dot: the Makefile never builds it in.
    expectDaemonAccepts("exim4");
    rmSync(`${at("exim4", GENERAL)}.sympl-new`);
    expect((await run(drift)).code).toBe(0);
  });

  it("a second sync right after a sync does nothing", async () => {
    upgradeUpstream(root, "exim4", { modify: { [GENERAL]: upstreamEdit(read("exim4", GENERAL)) }, add: { "00-main/15-extra": "# new\n" } });
    await run(sync);
    const after = managedHash();
    const again = await run(sync);
    expect(again.plan?.map((op) => op.op)).toEqual(["cache"]); // drift's stat cache, rewritten only if it changed
    expect(again.lines).toEqual(["exim4: nothing to do"]);
    expect(managedHash()).toBe(after);
  });
});

describe("additions and retirements", () => {
  beforeEach(async () => {
    await freshLocal(["exim4"]);
  });

  it("a retired upstream file leaves L (saved first); a retired directory goes with it", async () => {
    const retired = "40-retry/10-default";
    const text = read("exim4", retired);
    upgradeUpstream(root, "exim4", { remove: [retired, "40-retry/00-begin"] });
    rmSync(at("exim4", "40-retry", "sympl.d"), { recursive: true });
    expect(await states()).toEqual({ "40-retry/00-begin": "upstream-deleted", [retired]: "upstream-deleted" });
    const result = await run(sync);
    expect(existsSync(at("exim4", retired))).toBe(false);
    expect(existsSync(at("exim4", "40-retry"))).toBe(false);
    expect(readFileSync(inRoot(root, `${result.apps[0]?.saved as string}/${retired}`), "utf8")).toBe(text);
    expect(await states()).toEqual({});
    expectDaemonAccepts("exim4");
  });

  it("a retired file the admin changed is kept and reported", async () => {
    const retired = "40-retry/10-default";
    writeFileSync(at("exim4", retired), localEdit(read("exim4", retired)));
    upgradeUpstream(root, "exim4", { remove: [retired] });
    const result = await run(sync);
    expect(result.code).toBe(1);
    expect(existsSync(at("exim4", retired))).toBe(true);
    expect(result.lines.join("\n")).toContain("upstream retired it");
  });

  it("an upstream rename of a file the admin changed takes the local version along", async () => {
    const from = "40-retry/10-default";
    const to = "40-retry/20-default";
    const text = read("exim4", from);
    writeFileSync(at("exim4", from), localEdit(text));
    upgradeUpstream(root, "exim4", { remove: [from], add: { [to]: text } });
    const result = await run(sync);
    expect(result.apps[0]?.entries).toEqual([{ path: from, state: "conflict", action: "moved", to }]);
    expect(existsSync(at("exim4", from))).toBe(false);
    expect(read("exim4", to)).toBe(localEdit(text));
    expect(await states()).toEqual({ [to]: "local-modified" });
    expectDaemonAccepts("exim4");
  });

  it("a new upstream directory is created with the owner and group of /etc/APP", async () => {
    chownSync(inRoot(root, "/etc/exim4"), 4321, 4322);
    upgradeUpstream(root, "exim4", { add: { "05-extra/10-note": "# a new section of notes\n" } });
    expect(await states()).toEqual({ "05-extra/10-note": "upstream-added" });
    await run(sync);
    expect(read("exim4", "05-extra/10-note")).toBe("# a new section of notes\n");
    for (const p of [at("exim4", "05-extra"), at("exim4", "05-extra/10-note")]) {
      expect([statSync(p).uid, statSync(p).gid]).toEqual([4321, 4322]);
    }
    expectDaemonAccepts("exim4");
  });

  it("a file upstream made a directory (and back) replaces the unchanged local copy", async () => {
    const rel = "40-retry/10-default";
    const text = read("exim4", rel);
    upgradeUpstream(root, "exim4", { remove: [rel] });
    upgradeUpstream(root, "exim4", { add: { [`${rel}/10-first`]: text } });
    expect(await states()).toEqual({ [rel]: "upstream-deleted", [`${rel}/10-first`]: "upstream-added" });
    const result = await run(sync);
    expect(result.code).toBe(0);
    expect(read("exim4", `${rel}/10-first`)).toBe(text);
    expect(readFileSync(inRoot(root, `${result.apps[0]?.saved as string}/${rel}`), "utf8")).toBe(text);
    expectDaemonAccepts("exim4");
    rmSync(at("exim4", rel, "sympl.d"), { recursive: true });
    upgradeUpstream(root, "exim4", { add: { [rel]: text } });
    await run(sync);
    expect(statSync(at("exim4", rel)).isFile()).toBe(true);
    expect(await states()).toEqual({});
  });

  it("dpkg and ucf leftovers are never snippets: not reported, not copied", async () => {
    upgradeUpstream(root, "exim4", { add: { [`${GENERAL}.dpkg-dist`]: "# new conffile\n", "00-main/x.ucf-old": "junk\n" } });
    writeFileSync(`${at("exim4", GENERAL)}.dpkg-old`, "old\n");
    expect(await states()).toEqual({});
    const result = await run(sync);
    expect(result.lines).toContain("exim4: nothing to do");
    expect(existsSync(`${at("exim4", GENERAL)}.dpkg-dist`)).toBe(false);
  });
});

describe("dovecot's 60-sni link", () => {
  const SNI = "10-main/60-sni";

  it("stays a link through an upstream rewrite and shows the new content", async () => {
    await freshLocal(["dovecot"]);
    const rewritten = "# Per-domain certificates, rewritten by Sympl\n# (no domains have certificates yet)\n";
    upgradeUpstream(root, "dovecot", { modify: { [SNI]: rewritten } });
    expect(read("dovecot", SNI)).toBe(rewritten);
    expect(await states("dovecot")).toEqual({ [SNI]: "linked" });
    expect((await run(drift, {}, { apps: ["dovecot"] })).code).toBe(0);
    await run(sync, {}, { apps: ["dovecot"] });
    expect(lstatSync(at("dovecot", SNI)).isSymbolicLink()).toBe(true);
    expectDaemonAccepts("dovecot");
  });

  it("a legacy ABSOLUTE link is accepted and left working", async () => {
    setupLegacy(root, "dovecot");
    expect(readlinkSync(at("dovecot", SNI))).toBe("/etc/dovecot/sympl.d/10-main/60-sni");
    const result = await run(sync, {}, { apps: ["dovecot"] });
    expect(result.code).toBe(0);
    expect(readlinkSync(at("dovecot", SNI))).toBe("/etc/dovecot/sympl.d/10-main/60-sni");
    upgradeUpstream(root, "dovecot", { modify: { [SNI]: "# rewritten\n" } });
    expect(await states("dovecot")).toEqual({ [SNI]: "linked" });
    expectDaemonAccepts("dovecot");
  });

  it("a local copy of 60-sni that was not edited becomes the link on the next upstream change", async () => {
    await freshLocal(["dovecot"]);
    rmSync(at("dovecot", SNI));
    writeFileSync(at("dovecot", SNI), read("dovecot", SNI, "sympl.d"));
    upgradeUpstream(root, "dovecot", { modify: { [SNI]: "# rewritten\n" } });
    await run(sync, {}, { apps: ["dovecot"] });
    expect(readlinkSync(at("dovecot", SNI))).toBe("../../sympl.d/10-main/60-sni");
  });

  it("stays a link when upstream renames an edited file to 60-sni: the edit is kept under its old name", async () => {
    writeSymplTree(root, { apps: ["dovecot"] });
    const old = "10-main/55-sni";
    const text = read("dovecot", SNI, "sympl.d");
    rmSync(at("dovecot", SNI, "sympl.d"));
    writeFileSync(at("dovecot", old, "sympl.d"), text);
    const sys = new RealSystem(root);
    await applyPlan(sys, "test", planCreateLocalTree(sys, "dovecot", new Date()), () => new Date());
    writeFileSync(at("dovecot", old), localEdit(text));
    upgradeUpstream(root, "dovecot", { remove: [old], add: { [SNI]: text } });
    const result = await run(sync, {}, { apps: ["dovecot"] });
    expect(readlinkSync(at("dovecot", SNI))).toBe("../../sympl.d/10-main/60-sni");
    expect(read("dovecot", old)).toBe(localEdit(text));
    expect(result.code).toBe(1); // the retired, edited file waits for the admin
  });
});

describe("bytes, modes and dry runs", () => {
  beforeEach(async () => {
    await freshLocal(["exim4"]);
  });

  it("copies non-UTF-8 bytes, a missing final newline and the mode exactly", async () => {
    const bytes = Buffer.concat([Buffer.from("# r\xe9sum\xe9 in latin-1", "latin1"), Buffer.from([0xff, 0xfe]), Buffer.from("\n# no newline at the end")]);
    upgradeUpstream(root, "exim4", { add: { "00-main/99-odd": "" } });
    writeFileSync(at("exim4", "00-main/99-odd", "sympl.d"), bytes);
    chmodSync(at("exim4", "00-main/99-odd", "sympl.d"), 0o600);
    await run(sync);
    expect(readFileSync(at("exim4", "00-main/99-odd")).equals(bytes)).toBe(true);
    expect(statSync(at("exim4", "00-main/99-odd")).mode & 0o777).toBe(0o600);
    expect((await run(diff, { path: "00-main/99-odd" })).lines).toEqual(["no differences"]);
  });

  it("--dry-run shows the plan and leaves the whole root byte-identical", async () => {
    upgradeUpstream(root, "exim4", { modify: { [GENERAL]: upstreamEdit(read("exim4", GENERAL)) }, remove: ["40-retry/10-default"] });
    const before = hashTree(root);
    const result = await run(sync, {}, { dryRun: true });
    expect(result.plan?.map((op) => op.op)).toEqual(expect.arrayContaining(["write", "remove"]));
    expect(hashTree(root)).toBe(before);
    expect((await summarizeDrift(new RealSystem(root), "exim4"))?.counts).toEqual({ "upstream-modified": 1, "upstream-deleted": 1 });
  });
});

describe("diff", () => {
  beforeEach(async () => {
    await freshLocal(["exim4"]);
  });

  it("shows upstream → local as a unified diff with tree labels", async () => {
    writeFileSync(at("exim4", GENERAL), localEdit(read("exim4", GENERAL)));
    const result = await run(diff, { path: GENERAL });
    expect(result.lines).toContain(`--- sympl.d/${GENERAL}`);
    expect(result.lines).toContain(`+++ sympl-local.d/${GENERAL}`);
    expect(result.lines).toContain("+# local note by the admin");
  });

  it("--base shows what upstream changed since the baseline", async () => {
    upgradeUpstream(root, "exim4", { modify: { [GENERAL]: upstreamEdit(read("exim4", GENERAL)) } });
    const result = await run(diff, { base: true });
    expect(result.lines).toContain(`--- baseline/${GENERAL}`);
    expect(result.lines).toContain("+# upstream note added by a later release");
  });

  it("refuses a path in neither tree, and --base before any baseline (exit 2)", async () => {
    await expect(run(diff, { path: "00-main/no-such" })).rejects.toMatchObject({ code: 2, message: expect.stringContaining("not a snippet in sympl.d or sympl-local.d") });
    rmSync(inRoot(root, "/var/lib/makefilecheck/baseline"), { recursive: true });
    await expect(run(diff, { base: true })).rejects.toMatchObject({ code: 2, message: expect.stringContaining("no baseline recorded yet") });
  });

  it("says binary files differ for non-UTF-8 content", async () => {
    writeFileSync(at("exim4", GENERAL), Buffer.from([0x23, 0xff, 0x0a]));
    expect((await run(diff, { path: GENERAL })).lines).toEqual([`exim4: binary files sympl.d/${GENERAL} and sympl-local.d/${GENERAL} differ`]);
  });
});

describe("adopting a tree the old tooling made", () => {
  beforeEach(() => {
    setupLegacy(root, "exim4");
  });

  it("adopts on the first sync, saying so: identical files clean, local additions kept", async () => {
    writeFileSync(at("exim4", "00-main/70-mine"), "# the admin's own snippet\n");
    expect(await states()).toEqual({ "00-main/70-mine": "local-added" });
    const result = await run(sync);
    expect(result.code).toBe(0);
    expect(result.lines[0]).toMatch(/adopting sympl-local\.d/);
    expect(existsSync(inRoot(root, "/var/lib/makefilecheck/baseline/exim4/manifest.json"))).toBe(true);
    expect(read("exim4", "00-main/70-mine")).toBe("# the admin's own snippet\n");
    expect(result.apps[0]?.configTest).toMatchObject({ status: skipDaemons ? "skipped" : "passed" });
  });

  it("an unexplained difference is diverged and left alone until the admin settles it", async () => {
    const mine = localEdit(read("exim4", GENERAL));
    writeFileSync(at("exim4", GENERAL), mine);
    upgradeUpstream(root, "exim4", { add: { "00-main/15-extra": "# new upstream\n" } });
    expect(await states()).toEqual({ [GENERAL]: "diverged", "00-main/15-extra": "diverged" });
    const first = await run(sync);
    expect(first.code).toBe(1);
    expect(read("exim4", GENERAL)).toBe(mine);
    expect(existsSync(at("exim4", "00-main/15-extra"))).toBe(false);
    // Still diverged after adoption: the baseline remembers the path is unsettled.
    expect(await states()).toEqual({ [GENERAL]: "diverged", "00-main/15-extra": "diverged" });
    const settled = await run(sync, { "keep-local": [GENERAL], "take-upstream": ["00-main/15-extra"] });
    expect(settled.code).toBe(0);
    expect(read("exim4", GENERAL)).toBe(mine);
    expect(read("exim4", "00-main/15-extra")).toBe("# new upstream\n");
    expect(await states()).toEqual({ [GENERAL]: "local-modified" });
    expectDaemonAccepts("exim4");
  });

  it("--adopt replaces a corrupt baseline", async () => {
    await run(sync);
    writeFileSync(inRoot(root, "/var/lib/makefilecheck/baseline/exim4/manifest.json"), "{ not json");
    await expect(run(drift)).rejects.toMatchObject({ code: 3, message: expect.stringContaining("sync --adopt") });
    expect((await run(sync, { adopt: true })).code).toBe(0);
    expect((await run(drift)).code).toBe(0);
  });
});

describe("a sync cut short", () => {
  it("reports how far it got, and the next run finishes it without losing the old versions", async () => {
    await freshLocal(["exim4"]);
    const old = read("exim4", GENERAL);
    upgradeUpstream(root, "exim4", { modify: { [GENERAL]: upstreamEdit(old) }, remove: ["40-retry/10-default"] });
    // Writes: state dir, journal, two saved copies with their dirs (3-6), the removal (7); the update (8) fails.
    const faulty = { ...testContext(root, { apps: ["exim4"] }), sys: new FaultySystem(new RealSystem(root), 8) };
    await expect(sync(faulty, { _: [] })).rejects.toMatchObject({ code: 3, message: expect.stringContaining("the next run finishes it") });
    expect(read("exim4", GENERAL)).toBe(old);
    expect(existsSync(at("exim4", "40-retry/10-default"))).toBe(false);
    const next = await run(sync);
    expect(next.code).toBe(0);
    expect(read("exim4", GENERAL)).toBe(upstreamEdit(old));
    expect(existsSync(at("exim4", "40-retry/10-default"))).toBe(false);
    expect(await states()).toEqual({});
    const saved = inRoot(root, "/var/lib/makefilecheck/saved/exim4");
    const kept = readdirSync(saved).map((d) => `${saved}/${d}/${GENERAL}`).filter((f) => existsSync(f));
    expect(kept.map((f) => readFileSync(f, "utf8"))).toContain(old);
  });
});

describe("sync --make", () => {
  it.skipIf(missingBinaries("exim4", "make"))("rebuilds APP.conf from the synced tree, even through the old tooling's absolute Makefile link", async () => {
    setupLegacy(root, "exim4");
    await run(sync);
    upgradeUpstream(root, "exim4", { modify: { [GENERAL]: upstreamEdit(read("exim4", GENERAL, "sympl.d")) } });
    const result = await run(sync, { make: true });
    expect(result.code).toBe(0);
    expect(readFileSync(inRoot(root, "/etc/exim4/exim4.conf"), "utf8")).toContain("# upstream note added by a later release");
  });

  it("never hands make a Makefile link that loops (make would follow it on the host): not rebuilt, said, exit 1", async () => {
    await freshLocal(["exim4"]);
    upgradeUpstream(root, "exim4", { modify: { [GENERAL]: upstreamEdit(read("exim4", GENERAL, "sympl.d")) } });
    rmSync(inRoot(root, "/etc/exim4/Makefile"));
    symlinkSync("Makefile.loop", inRoot(root, "/etc/exim4/Makefile"));
    symlinkSync("/etc/exim4/Makefile", inRoot(root, "/etc/exim4/Makefile.loop"));
    const result = await run(sync, { make: true });
    expect(result.code).toBe(1);
    expect(result.plan?.some((op) => op.op === "run")).toBe(false);
    expect(result.problems?.join("\n")).toMatch(/exim4: \/etc\/exim4\/exim4\.conf not rebuilt: \/etc\/exim4\/Makefile is not makefilecheck's link/);
  });
});

describe("refusals: one line, an exit code, nothing changed", () => {
  it("no sympl-local.d: a missing tree (exit 3), says to run install", async () => {
    writeSymplTree(root);
    const before = hashTree(root);
    await expect(run(sync)).rejects.toMatchObject({ code: 3, message: expect.stringMatching(/sympl-local.d: missing — run `makefilecheck install`/) });
    await expect(run(drift)).rejects.toMatchObject({ code: 3 });
    expect(hashTree(root)).toBe(before);
  });

  it("sympl-local.d itself a symlink (exit 3, not followed)", async () => {
    writeSymplTree(root, { apps: ["exim4"] });
    const { symlinkSync } = await import("node:fs");
    symlinkSync("sympl.d", inRoot(root, "/etc/exim4/sympl-local.d"));
    const before = hashTree(root);
    await expect(run(sync)).rejects.toMatchObject({ code: 3, message: expect.stringContaining("sympl-local.d: is a symlink, not a directory") });
    await expect(run(drift)).rejects.toMatchObject({ code: 3 });
    expect(hashTree(root)).toBe(before);
  });

  it.each([
    ["a link out of /etc/APP", "/etc/shadow", /points outside \/etc\/exim4/],
    ["a link that climbs out relatively", "../../../../etc/passwd", /points outside \/etc\/exim4/],
    ["a dangling link", "../no-such-file", /does not exist/],
    ["a link to itself", "80-link", /80-link: symlink loop — /],
  ])("%s in sympl-local.d (exit 3)", async (_name, target, message) => {
    await freshLocal(["exim4"]);
    const { symlinkSync } = await import("node:fs");
    symlinkSync(target, at("exim4", "00-main/80-link"));
    upgradeUpstream(root, "exim4", { modify: { [GENERAL]: upstreamEdit(read("exim4", GENERAL, "sympl.d")) } });
    const before = hashTree(root);
    await expect(run(sync)).rejects.toMatchObject({ code: 3, message: expect.stringMatching(message) });
    expect(hashTree(root)).toBe(before);
  });

  it("a file upstream made a directory, when the local copy was changed (exit 2)", async () => {
    await freshLocal(["exim4"]);
    writeFileSync(at("exim4", "40-retry/10-default"), localEdit(read("exim4", "40-retry/10-default")));
    upgradeUpstream(root, "exim4", { remove: ["40-retry/10-default"] });
    upgradeUpstream(root, "exim4", { add: { "40-retry/10-default/10-first": "# retry rules, now one per file\n" } });
    const before = hashTree(root);
    await expect(run(sync)).rejects.toMatchObject({ code: 2, message: expect.stringContaining("is a file here but a directory in sympl.d, and holds local changes") });
    expect(hashTree(root)).toBe(before);
  });

  it.each([
    ["foreign", (m: Record<string, unknown>) => ({ ...m, app: "dovecot" }), /belongs to dovecot/],
    ["of an unknown format", (m: Record<string, unknown>) => ({ ...m, format: "something-else" }), /unknown format/],
    ["naming a climbing path", (m: Record<string, unknown>) => ({ ...m, files: { "../../x": { sha256: "0".repeat(64), mode: 420 } } }), /bad path/],
  ])("a baseline manifest %s (exit 3, explains re-adopting)", async (_name, damage, message) => {
    await freshLocal(["exim4"]);
    const file = inRoot(root, "/var/lib/makefilecheck/baseline/exim4/manifest.json");
    writeFileSync(file, JSON.stringify(damage(JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>)));
    const before = hashTree(root);
    await expect(run(sync)).rejects.toMatchObject({ code: 3, message: expect.stringMatching(message) });
    await expect(run(sync)).rejects.toMatchObject({ message: expect.stringContaining("makefilecheck sync --adopt -a exim4") });
    expect(hashTree(root)).toBe(before);
  });

  it("a settle path that is in no tree (exit 2)", async () => {
    await freshLocal(["exim4"]);
    const before = hashTree(root);
    await expect(run(sync, { "keep-local": ["00-main/no-such"] })).rejects.toMatchObject({ code: 2 });
    await expect(run(sync, { "keep-local": ["../x"] })).rejects.toMatchObject({ code: 2 });
    expect(hashTree(root)).toBe(before);
  });
});

describe("the saved copies", () => {
  it("keep every overwritten file under the state dir, never inside a snippet tree", async () => {
    await freshLocal(["exim4"]);
    upgradeUpstream(root, "exim4", { modify: { [GENERAL]: upstreamEdit(read("exim4", GENERAL)) } });
    await run(sync);
    const savedRoot = inRoot(root, "/var/lib/makefilecheck/saved/exim4");
    expect(readdirSync(savedRoot)).toHaveLength(1);
    expect(readdirSync(inRoot(root, "/etc/exim4/sympl-local.d/00-main")).filter((n) => n.includes("."))).toEqual([]);
  });
});
