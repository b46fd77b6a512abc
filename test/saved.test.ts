/**
 * saved/ does not grow for ever: per app the newest runs and every run of
 * the last days stay, the rest is pruned at the end of a mutating run, the
 * run says so, and the copy it just made is never pruned.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { main } from "../src/cli.js";
import { withLock } from "../src/context.js";
import { applyPlan } from "../src/plan.js";
import { DEFAULT_KEEP, savedAt, toPrune } from "../src/saved.js";
import { sync } from "../src/sync/commands.js";
import { RealSystem } from "../src/system/real.js";
import { planCreateLocalTree } from "../src/tree/clone.js";
import { inRoot, upgradeUpstream, writeSymplTree } from "./fixtures/sympl.js";
import { captureOutput } from "./support/capture.js";
import { testContext } from "./support/context.js";
import { withTempRoot } from "./support/temp-root.js";
import { jsonDocument } from "./support/json-schema.js";

let root: string;
withTempRoot((r) => (root = r));
let out: string[];
captureOutput((o) => (out = o));

const DAY = 86_400_000;
const at = (iso: string) => new Date(iso);
/** A sync's saved-run name for `date`. */
const syncRun = (date: Date) => date.toISOString().replace(/\.\d+Z$/, "Z").replace(/:/g, "-");

describe("which saved runs go", () => {
  it("reads the times of both shapes of saved names, and no other", () => {
    expect(savedAt("2026-12-02T11-24-01Z")).toBe(Date.UTC(2026, 11, 2, 11, 24, 1));
    expect(savedAt("2026-12-02T11-24-01Z-2")).toBe(Date.UTC(2026, 11, 2, 11, 24, 1));
    expect(savedAt("Makefile.local.20261202T112401Z")).toBe(Date.UTC(2026, 11, 2, 11, 24, 1));
    expect(savedAt("notes.txt")).toBeNull();
    expect(savedAt("2026-12-02")).toBeNull();
  });

  const now = at("2027-01-01T00:00:00Z");
  const daysAgo = (n: number) => syncRun(new Date(now.getTime() - n * DAY));
  it.each([
    ["fewer runs than kept: nothing", [daysAgo(400), daysAgo(300)], { runs: 20, days: 90 }, []],
    ["the oldest beyond the last 2 and 90 days", [daysAgo(400), daysAgo(300), daysAgo(200), daysAgo(100)], { runs: 2, days: 90 }, [daysAgo(400), daysAgo(300)]],
    ["the last 90 days stay even beyond the last N", [daysAgo(100), daysAgo(80), daysAgo(10), daysAgo(1)], { runs: 1, days: 90 }, [daysAgo(100)]],
    ["a file of use or repair is a run too", ["Makefile.local.20260101T000000Z", daysAgo(1)], { runs: 1, days: 90 }, ["Makefile.local.20260101T000000Z"]],
    ["files saved at one time are one run", ["Makefile.20260101T000000Z", "Makefile.local.20260101T000000Z", daysAgo(200)], { runs: 1, days: 0 }, ["Makefile.20260101T000000Z", "Makefile.local.20260101T000000Z"]],
    ["names of another shape are never touched", ["README", "x.old", daysAgo(500)], { runs: 0, days: 0 }, []],
  ])("%s", (_name, names, keep, expected) => {
    expect(toPrune(names, now, keep)).toEqual([...expected].sort());
  });

  it("never the newest run, whatever --keep-days says", () => {
    expect(toPrune([daysAgo(1000), daysAgo(999)], now, { runs: 1, days: 0 })).toEqual([daysAgo(1000)]);
  });
});

describe("a year of daily syncs", () => {
  it("keeps the last 90 days (at least 20 runs) and says what it pruned", async () => {
    // Each day a run saves a copy as sync does, then ends as every mutating
    // run ends (withLock prunes); a real sync is the next test's.
    const saved = inRoot(root, "/var/lib/makefilecheck/saved/exim4");
    const start = at("2026-01-01T03:00:00Z").getTime();
    const notes: string[] = [];
    for (let day = 0; day < 365; day++) {
      const now = new Date(start + day * DAY);
      const ctx = { ...testContext(root, { apps: ["exim4"] }), now: () => now };
      const made = `${saved}/${syncRun(now)}/00-main`;
      await withLock(ctx, async () => {
        mkdirSync(made, { recursive: true });
        writeFileSync(`${made}/10-general`, `# before the upgrade of day ${day}\n`);
      });
      expect(existsSync(made), `day ${day}: the copy just made`).toBe(true);
      notes.push(...ctx.notes);
    }
    const left = readdirSync(saved).sort();
    const last = start + 364 * DAY;
    // Day 274 is exactly 90 days before the last run: kept, so 91 runs.
    expect(left).toHaveLength(91);
    expect(left[0]).toBe(syncRun(new Date(last - 90 * DAY)));
    expect(left.at(-1)).toBe(syncRun(new Date(last)));
    // Pruning starts once a run is both older than 90 days and beyond the last 20: one a day from then on.
    expect(notes).toHaveLength(365 - 91);
    expect(notes[0]).toBe(`pruned 1 saved run of exim4 (older than 90 days, beyond the last 20): ${syncRun(new Date(start))}`);
  }, 180_000);

  it("a real sync prunes at its end, keeps its own copy; --keep-runs keeps more; --dry-run only says what would go", async () => {
    const saved = inRoot(root, "/var/lib/makefilecheck/saved/exim4");
    writeSymplTree(root, { apps: ["exim4"] });
    const sys = new RealSystem(root);
    await applyPlan(sys, "test", planCreateLocalTree(sys, "exim4", new Date()), () => new Date());
    const now = at("2027-01-01T00:00:00Z");
    mkdirSync(saved, { recursive: true });
    for (let n = 1; n <= 30; n++) {
      mkdirSync(`${saved}/${syncRun(new Date(now.getTime() - n * 100 * DAY))}/00-main`, { recursive: true });
      writeFileSync(`${saved}/${syncRun(new Date(now.getTime() - n * 100 * DAY))}/00-main/10-general`, "old\n");
    }
    const dry = { ...testContext(root, { apps: ["exim4"], dryRun: true }), now: () => now };
    await sync(dry, { _: ["sync"] });
    expect(dry.notes.find((n) => n.startsWith("would prune 10 saved runs of exim4"))).toBeDefined();
    expect(readdirSync(saved)).toHaveLength(30);

    upgradeUpstream(root, "exim4", { modify: { "00-main/10-general": "# upgraded\n" } });
    const ctx = { ...testContext(root, { apps: ["exim4"] }), now: () => now, keep: { ...DEFAULT_KEEP, runs: 25 } };
    expect((await sync(ctx, { _: ["sync"] })).code).toBe(0);
    expect(existsSync(`${saved}/${syncRun(now)}/00-main/10-general`)).toBe(true);
    // 30 old runs and the new one: the newest 25 stay.
    expect(readdirSync(saved)).toHaveLength(25);
    expect(ctx.notes.find((n) => n.startsWith("pruned 6 saved runs of exim4 (older than 90 days, beyond the last 25)"))).toBeDefined();
  });

  it("under --json the document carries what was pruned (and, under --dry-run, what would be)", async () => {
    const saved = inRoot(root, "/var/lib/makefilecheck/saved/exim4");
    writeSymplTree(root, { apps: ["exim4"] });
    const sys = new RealSystem(root);
    await applyPlan(sys, "test", planCreateLocalTree(sys, "exim4", new Date()), () => new Date());
    const old = Date.UTC(2020, 0, 1);
    for (let n = 1; n <= 22; n++) mkdirSync(`${saved}/${syncRun(new Date(old + n * DAY))}`, { recursive: true });
    const doc = async (argv: string[]) => {
      out.length = 0;
      expect(await main([...argv, "--root", root, "-a", "exim4", "--json"])).toBe(0);
      return jsonDocument(out.join("")) as { notes?: string[] };
    };
    const oldest = `${syncRun(new Date(old + DAY))}, ${syncRun(new Date(old + 2 * DAY))}`;
    expect((await doc(["sync", "--dry-run"])).notes).toEqual([`would prune 2 saved runs of exim4 (older than 90 days, beyond the last 20): ${oldest}`]);
    expect(readdirSync(saved)).toHaveLength(22);
    expect((await doc(["sync"])).notes).toEqual([`pruned 2 saved runs of exim4 (older than 90 days, beyond the last 20): ${oldest}`]);
    expect(readdirSync(saved)).toHaveLength(20);
    expect((await doc(["sync"])).notes).toBeUndefined();
  });
});
