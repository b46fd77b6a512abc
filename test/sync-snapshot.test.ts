/**
 * The sync planner is a pure function of a scanned snapshot: planned from
 * a snapshot made in memory (no disk, no temp dir), it gives the steps the
 * sync table asks for; planned from a real scan, it gives the same plan
 * after the whole root is gone, and the same plan the `sync` command makes.
 * `diff` works on the same trees without reading either.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { sha256 } from "../src/hash.js";
import type { Op } from "../src/plan.js";
import { samePlan } from "../src/plan.js";
import { sync } from "../src/sync/commands.js";
import { diffTrees } from "../src/sync/diffs.js";
import { planSync } from "../src/sync/plan-sync.js";
import type { SyncSnapshot } from "../src/sync/snapshot.js";
import { scanForSync } from "../src/sync/snapshot.js";
import type { Manifest } from "../src/tree/baseline.js";
import type { Snapshot, SnapshotEntry } from "../src/tree/scan.js";
import { RealSystem } from "../src/system/real.js";
import { inRoot, upgradeUpstream, writeSymplTree } from "./fixtures/sympl.js";
import { testContext } from "./support/context.js";
import { withTempRoot } from "./support/temp-root.js";
import { serverPath, snippetPath } from "../src/paths.js";
import type { ServerPath } from "../src/paths.js";

const NOW = new Date("2026-03-04T05:06:07.000Z");
const STAMP = "2026-03-04T05-06-07Z";
const UP = serverPath("/etc/exim4/sympl.d");
const LOCAL = serverPath("/etc/exim4/sympl-local.d");
const BASE = "/var/lib/makefilecheck/baseline/exim4";
const settle = { takeUpstream: new Set<string>(), keepLocal: new Set<string>() };

/** A snippet file of a tree made in memory. */
function file(rel: string, text: string, mode = 0o644): SnapshotEntry {
  const data = Buffer.from(text);
  return { rel: snippetPath(rel), type: "file", mode, uid: 0, gid: 0, data, sha256: sha256(data) };
}

/** A tree made in memory: its files, and the directories above them. */
function tree(dir: ServerPath, files: SnapshotEntry[], waiting: string[] = []): Snapshot {
  const dirs = new Set(files.flatMap((f) => f.rel.split("/").slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join("/"))));
  return { dir, entries: new Map(files.map((f) => [f.rel, f])), dirs, waiting };
}

const lines = (...l: string[]) => l.map((s) => `${s}\n`).join("");
const BASE_X = lines("one", "two", "three", "four", "five");
const BASE_RW = lines("listen = 25", "queue = yes");

/**
 * An exim4 snapshot after an upgrade: a file both sides edited apart
 * (merges), one both edited on the same line (conflicts, an older
 * `.sympl-new` waiting beside it), a new file in a new directory, and a
 * retired file that was the only thing in its directory.
 */
function inMemory(): SyncSnapshot {
  const baseline: Manifest = {
    format: "makefilecheck-baseline",
    version: 1,
    app: "exim4",
    created: "2026-01-01T00:00:00.000Z",
    files: {
      "10-acl/10-x": { sha256: sha256(Buffer.from(BASE_X)), mode: 0o644 },
      "20-rw/10-conf": { sha256: sha256(Buffer.from(BASE_RW)), mode: 0o644 },
      "30-old/10-gone": { sha256: sha256(Buffer.from("gone\n")), mode: 0o644 },
    },
    unsettled: [],
  };
  return {
    app: "exim4",
    baseline,
    upstream: tree(UP, [file("10-acl/10-x", lines("ONE", "two", "three", "four", "five")), file("20-rw/10-conf", lines("listen = 587", "queue = yes")), file("45-new/10-thing", "new\n", 0o640)]),
    local: tree(LOCAL, [file("10-acl/10-x", lines("one", "two", "three", "four", "FIVE")), file("20-rw/10-conf", lines("listen = 2525", "queue = yes")), file("30-old/10-gone", "gone\n")], ["20-rw/10-conf"]),
    owner: { uid: 7, gid: 8 },
    upstreamDirModes: new Map([["45-new", 0o750]]),
    localListings: new Map([["30-old", ["10-gone"]]]),
    waitingEntries: new Map([["20-rw/10-conf", { type: "file", data: Buffer.from("an older upstream\n"), mode: 0o600 }]]),
    baseObjects: new Map([BASE_X, BASE_RW].map((t) => [sha256(Buffer.from(t)), Buffer.from(t)])),
    storedObjects: new Set([sha256(Buffer.from(BASE_X)), sha256(Buffer.from(BASE_RW)), sha256(Buffer.from("gone\n"))]),
    savedRuns: new Set([STAMP]),
    scannedAt: NOW.getTime(),
  };
}

/** The step that acts on `path`, if any. */
const stepAt = (ops: Op[], op: Op["op"], path: string) => ops.find((o) => o.op === op && "path" in o && o.path === path);

describe("the sync planner, from a snapshot made in memory", () => {
  it("merges, puts a conflict beside the file, adds, retires, and records the baseline", () => {
    const plan = planSync(inMemory(), { settle, now: NOW });
    expect(plan.entries).toEqual([
      { path: "10-acl/10-x", state: "conflict", action: "merged" },
      { path: "20-rw/10-conf", state: "conflict", action: "conflict" },
      { path: "30-old/10-gone", state: "upstream-deleted", action: "removed" },
      { path: "45-new/10-thing", state: "upstream-added", action: "added" },
    ]);
    // This second's saved dir is taken by an earlier run: the plan picks the next name.
    const saved = `/var/lib/makefilecheck/saved/exim4/${STAMP}-2`;
    expect(plan.savedDir).toBe(saved);
    const ops = plan.ops;
    const write = (path: string) => stepAt(ops, "write", path) as Extract<Op, { op: "write" }> | undefined;
    expect(write(`${LOCAL}/10-acl/10-x`)?.data.toString()).toBe(lines("ONE", "two", "three", "four", "FIVE"));
    expect(write(`${LOCAL}/20-rw/10-conf`)).toBeUndefined();
    expect(write(`${LOCAL}/20-rw/10-conf.sympl-new`)?.data.toString()).toBe(lines("listen = 587", "queue = yes"));
    expect(write(`${saved}/20-rw/10-conf.sympl-new`)).toMatchObject({ data: Buffer.from("an older upstream\n"), mode: 0o600 });
    expect(write(`${saved}/30-old/10-gone`)?.data.toString()).toBe("gone\n");
    expect(stepAt(ops, "remove", `${LOCAL}/30-old/10-gone`)).toBeDefined();
    expect(stepAt(ops, "remove", `${LOCAL}/30-old`)).toBeDefined();
    expect(stepAt(ops, "mkdir", `${LOCAL}/45-new`)).toMatchObject({ mode: 0o750, uid: 7, gid: 8 });
    expect(write(`${LOCAL}/45-new/10-thing`)).toMatchObject({ mode: 0o640, uid: 7, gid: 8 });
    // Objects the store holds are not written again; the retired file's object goes.
    const objects = ops.filter((o) => o.op === "write" && o.path.startsWith(`${BASE}/objects/`)).map((o) => (o as { path: string }).path);
    expect(objects.sort()).toEqual(
      [lines("ONE", "two", "three", "four", "five"), lines("listen = 587", "queue = yes"), "new\n"].map((t) => `${BASE}/objects/${sha256(Buffer.from(t))}`).sort(),
    );
    expect(stepAt(ops, "remove", `${BASE}/objects/${sha256(Buffer.from("gone\n"))}`)).toBeDefined();
    expect(plan.waiting).toEqual(["20-rw/10-conf"]);
  });

  it("refuses to write where a directory named like the `.sympl-new` stands", () => {
    const snapshot = inMemory();
    const local = snapshot.local;
    snapshot.local = { ...local, dirs: new Set([...local.dirs, "20-rw/10-conf.sympl-new"]), waiting: [] };
    expect(() => planSync({ ...snapshot, waitingEntries: new Map() }, { settle, now: NOW })).toThrow(/10-conf\.sympl-new: is a directory here/);
  });
});

describe("diff, from trees made in memory", () => {
  it("shows what upstream changed since the baseline from the bytes it is given, and local against upstream", () => {
    const snapshot = inMemory();
    expect(diffTrees(snapshot, ["10-acl/10-x"], snapshot.baseObjects)[0]?.patch).toContain("-one\n+ONE\n");
    expect(diffTrees(snapshot, ["10-acl/10-x"])[0]?.patch).toContain("-five\n+FIVE\n");
  });
});

describe("the sync planner, from a real scan", () => {
  let root: string;
  withTempRoot((r) => (root = r));

  it("plans the same after the root is gone, and as the sync command does", async () => {
    writeSymplTree(root, { apps: ["exim4"] });
    // An adopted copy of sympl.d (the first sync records its baseline), then an upgrade with a local edit beside it.
    cpSync(inRoot(root, UP), inRoot(root, LOCAL), { recursive: true });
    await sync(testContext(root, { apps: ["exim4"] }), { _: [] });
    const general = "00-main/10-general";
    const text = readFileSync(inRoot(root, `${UP}/${general}`), "utf8");
    writeFileSync(inRoot(root, `${LOCAL}/${general}`), `${text}# a local line\n`);
    upgradeUpstream(root, "exim4", { modify: { [general]: `# an upstream line\n${text}` }, add: { "77-new/10-added": "# new\n" }, remove: ["40-retry/10-default"] });

    const snapshot = scanForSync(new RealSystem(root), "exim4");
    const first = planSync(snapshot, { settle, now: NOW });
    expect(first.entries.map((e) => e.action).sort()).toEqual(["added", "merged", "removed"]);
    const dry = await sync({ ...testContext(root, { apps: ["exim4"], dryRun: true }), now: () => NOW }, { _: [] });
    // The cache step's bytes depend on which files had settled at each scan: compared by its place only.
    const [steps, cache] = [(dry.plan ?? []).filter((op) => op.op !== "cache"), (dry.plan ?? []).filter((op) => op.op === "cache")];
    expect(samePlan(steps, first.ops)).toBe(true);
    expect(cache).toMatchObject([{ op: "cache", path: first.refreshCache.path }]);

    rmSync(root, { recursive: true, force: true });
    const again = planSync(snapshot, { settle, now: NOW });
    expect(samePlan([...again.ops, again.refreshCache], [...first.ops, first.refreshCache])).toBe(true);
    expect(again.entries).toEqual(first.entries);
  });
});
