import { existsSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { App } from "../src/server-layout.js";
import { appPaths } from "../src/server-layout.js";
import { repair, revert, status } from "../src/makefilecheck/commands.js";
import { deriveVariant } from "../src/makefilecheck/makefile.js";
import { recordPath } from "../src/makefilecheck/state.js";
import { testContext } from "./support/context.js";
import { managedTree } from "./support/makefilecheck-trees.js";
import {
  damageInstallNew,
  damageKeepOld,
  damagePlainFile,
  hashTree,
  inRoot,
  makeRoot,
  newerUpstreamMakefile,
  setupLegacy,
  upstreamMakefile,
} from "./fixtures/sympl.js";
import { withTempRoot } from "./support/temp-root.js";
import { JOURNAL, applyPlan } from "../src/plan.js";
import type { Op } from "../src/plan.js";
import { serverPath } from "../src/paths.js";
import { RealSystem } from "../src/system/real.js";
import { FaultySystem, ReadOnlySystem } from "../src/system/wrappers.js";
import { doctor } from "../src/doctor/command.js";

let root: string;
withTempRoot((r) => (root = r));

const at = (server: string) => inRoot(root, server);
const read = (server: string) => readFileSync(at(server), "utf8");
const ctx = (app: App, opts: { dryRun?: boolean } = {}) => testContext(root, { apps: [app], ...opts });
const noCheck = { _: [], check: false };

/** Asserts the app is back to local with both variants derived from the newer upstream text. */
async function expectLocalFromNewer(app: App): Promise<void> {
  const p = appPaths(app);
  const newer = newerUpstreamMakefile(app);
  expect(readlinkSync(at(p.makefile))).toBe("Makefile.local");
  expect(read(p.makefileSympl)).toBe(newer);
  expect(read(p.makefileLocal)).toBe(deriveVariant(p.makefile, newer, "local"));
  expect(JSON.parse(read(recordPath(app))).mode).toBe("local");
  const after = await status(ctx(app), { _: [] });
  // Put right, but nothing is built yet: the next step is make.
  expect(after.code).toBe(1);
  expect(after.apps[0]).toMatchObject({ profile: "local", recorded: "local", damage: null, built: { state: "missing" }, next: `cd ${appPaths(app).dir} && make` });
}

/** Repairing again finds nothing and writes nothing. */
async function expectIdempotent(app: App): Promise<void> {
  const before = hashTree(root);
  const again = await repair(ctx(app), noCheck);
  expect(again.code).toBe(0);
  expect(again.lines).toEqual([`${app}: nothing to repair`]);
  expect(hashTree(root)).toBe(before);
}

const damages: Array<[string, (app: App) => void]> = [
  ["keep-old (.dpkg-dist waiting)", (app) => damageKeepOld(root, app)],
  ["install-new (Makefile.local overwritten, .dpkg-old kept)", (app) => damageInstallNew(root, app)],
  ["plain file replacing the link", (app) => damagePlainFile(root, app, newerUpstreamMakefile(app))],
];

describe.each(["exim4", "dovecot"] as const)("repair %s", (app) => {
  const p = appPaths(app);

  it.each(damages)("after %s: status says so (exit 1), repair restores local from the newer upstream", async (_name, damage) => {
    await managedTree(root, [app]);
    damage(app);
    const seen = await status(ctx(app), { _: [] });
    expect(seen.code).toBe(1);
    expect(seen.apps[0]!.damage).not.toBeNull();
    expect(seen.apps[0]!.next).toBe("makefilecheck repair");

    const result = await repair(ctx(app), noCheck);
    expect(result.code).toBe(0);
    expect(result.lines[0]).toMatch(new RegExp(`^${app}: .*; restoring local \\(Makefile -> Makefile.local\\)$`));
    await expectLocalFromNewer(app);
    await expectIdempotent(app);
  });

  it("renames a consumed .dpkg-dist so it is not applied twice, and keeps .dpkg-old", async () => {
    await managedTree(root, [app]);
    damageKeepOld(root, app);
    await repair(ctx(app), noCheck);
    const names = readdirSync(at(p.dir));
    expect(names).not.toContain("Makefile.local.dpkg-dist");
    expect(names.filter((n) => /^Makefile\.local\.dpkg-dist\.applied-\d{8}T\d{6}Z$/.test(n))).toHaveLength(1);

    rmSync(root, { recursive: true, force: true });
    root = makeRoot();
    await managedTree(root, [app]);
    damageInstallNew(root, app);
    await repair(ctx(app), noCheck);
    expect(read(`${p.makefileLocal}.dpkg-old`)).toBe(deriveVariant(p.makefile, upstreamMakefile(app), "local"));
  });

  it("adopts the legacy tree after install-new damage, inferring local from the absolute link", async () => {
    setupLegacy(root, app);
    damageInstallNew(root, app);
    const result = await repair(ctx(app), noCheck);
    expect(result.code).toBe(0);
    await expectLocalFromNewer(app);
    // The old Makefile.local was the old tool's pure derivation: nothing of the admin's to keep.
    expect(existsSync(at(`/var/lib/makefilecheck/saved/${app}`))).toBe(false);
  });

  it("refuses to guess on a legacy tree whose link became a plain file: exit 1, no writes", async () => {
    setupLegacy(root, app);
    damagePlainFile(root, app);
    const before = hashTree(root);
    const result = await repair(ctx(app), noCheck);
    expect(result.code).toBe(1);
    expect(result.lines[0]).toMatch(/cannot tell which tree you chose — run `makefilecheck use local` or `makefilecheck use sympl`$/);
    expect(hashTree(root)).toBe(before);
    expect(existsSync(at(p.makefileLocal))).toBe(true);
    expect(existsSync(at(p.makefileSympl))).toBe(true);
  });
});

describe("repair keeps the admin's work", () => {
  const p = appPaths("exim4");

  it("saves an edited Makefile.local before re-deriving it, and says where", async () => {
    await managedTree(root, ["exim4"]);
    const edited = `${read(p.makefileLocal)}\n# admin: keep this\n`;
    writeFileSync(at(p.makefileLocal), edited);
    damageKeepOld(root, "exim4");
    const result = await repair(ctx("exim4"), noCheck);
    const savedLine = result.lines.find((l) => l.includes("held your own edits"));
    expect(savedLine).toMatch(/^exim4: \/etc\/exim4\/Makefile\.local held your own edits; a copy is kept in \/var\/lib\/makefilecheck\/saved\/exim4\/Makefile\.local\.\d{8}T\d{6}Z$/);
    const copy = savedLine!.split(" ").at(-1)!;
    expect(read(copy)).toBe(edited);
    await expectLocalFromNewer("exim4");
  });

  it("does not save copies of variants it wrote itself", async () => {
    await managedTree(root, ["exim4"]);
    damageKeepOld(root, "exim4");
    const result = await repair(ctx("exim4"), noCheck);
    expect(result.lines.some((l) => l.includes("held your own edits"))).toBe(false);
    expect(existsSync(at("/var/lib/makefilecheck/saved"))).toBe(false);
  });

  it("nothing to repair: exit 0, no writes", async () => {
    await managedTree(root);
    const before = hashTree(root);
    const result = await repair(testContext(root), noCheck);
    expect(result.code).toBe(0);
    expect(result.plan).toEqual([]);
    expect(hashTree(root)).toBe(before);
  });

  it("--dry-run shows the repair and leaves the tree byte-identical", async () => {
    await managedTree(root, ["exim4"]);
    damageInstallNew(root, "exim4");
    const before = hashTree(root);
    const result = await repair(ctx("exim4", { dryRun: true }), noCheck);
    expect(hashTree(root)).toBe(before);
    expect(result.plan!.map((op) => op.op)).toEqual(["write", "write", "write"]);
    expect(result.plan!.map((op) => ("path" in op ? op.path : ""))).toEqual([p.makefileLocal, p.makefileSympl, recordPath("exim4")]);
  });
});

describe("revert", () => {
  const p = appPaths("exim4");

  it("refuses without --force: exit 2, one line, nothing changed", async () => {
    await managedTree(root, ["exim4"]);
    const before = hashTree(root);
    await expect(revert(ctx("exim4"), { _: [] })).rejects.toMatchObject({ code: 2, message: expect.stringMatching(/add --force/) });
    expect(hashTree(root)).toBe(before);
  });

  it("takes a waiting .dpkg-dist as the upstream text and keeps an edited variant recoverable", async () => {
    await managedTree(root, ["exim4"]);
    const edited = `${read(p.makefileSympl)}# admin edit\n`;
    writeFileSync(at(p.makefileSympl), edited);
    damageKeepOld(root, "exim4");
    const result = await revert(ctx("exim4"), { _: [], force: true });
    expect(read(p.makefile)).toBe(newerUpstreamMakefile("exim4"));
    expect(existsSync(at(p.makefileSympl))).toBe(false);
    const saved = readdirSync(at("/var/lib/makefilecheck/saved/exim4"));
    expect(saved).toHaveLength(1);
    expect(read(`/var/lib/makefilecheck/saved/exim4/${saved[0]}`)).toBe(edited);
    expect(result.lines.join("\n")).toContain("/var/lib/makefilecheck/saved/exim4/Makefile.sympl.");
  });
});

describe("an interrupted run waiting to be finished", () => {
  it("status and doctor report it (exit 1, with the fix), and repair finishes it first", async () => {
    await managedTree(root, ["exim4"]);
    const step: Op = { op: "write", path: serverPath("/etc/exim4/sympl-local.d/99-late"), data: Buffer.from("# late\n"), why: "test" };
    // Writes: the state dir (1), the journal (2), the step (3): cut short there.
    await expect(applyPlan(new FaultySystem(new RealSystem(root), 3), "sync", [step], () => new Date("2031-02-03T04:05:06Z"))).rejects.toThrow(/step 1 of 1/);
    const fix = "run `makefilecheck repair` (or any command that changes something): it finishes that run first";
    const seen = await status(ctx("exim4"), { _: [] });
    expect(seen.code).toBe(1);
    expect(seen.lines.slice(0, 2)).toEqual([`interrupted: the \`sync\` run of 2031-02-03T04:05:06.000Z was cut short; its journal ${at(JOURNAL)} waits to be finished`, `  next: ${fix}`]);
    expect(seen.data?.journal).toMatchObject({ command: "sync", next: fix });
    const checked = await doctor({ ...ctx("exim4"), sys: new ReadOnlySystem(new RealSystem(root)) }, { _: [] });
    expect(checked.code).toBe(1);
    expect((checked.apps[0]!.checks as Array<Record<string, string>>).find((c) => c.id === "journal")).toMatchObject({ status: "fail", fix });

    const run = ctx("exim4");
    await repair(run, noCheck);
    expect(run.notes).toContain("finished the interrupted `sync` run of 2031-02-03T04:05:06.000Z");
    expect(read("/etc/exim4/sympl-local.d/99-late")).toBe("# late\n");
    expect((await status(ctx("exim4"), { _: [] })).lines[0]).toMatch(/^exim4: /);
  });
});
