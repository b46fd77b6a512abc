/**
 * Drift's stat cache: unchanged files go unread, and a change the cache
 * could hide (same size, rewritten in place) is still seen. Sync refreshes
 * it by a step of its plan: shown and not taken under --dry-run, written
 * only when it changed, and a cache that cannot be written is only a note.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { App } from "../src/server-layout.js";
import { applyPlan } from "../src/plan.js";
import { planCreateLocalTree } from "../src/tree/clone.js";
import { sync } from "../src/sync/commands.js";
import { analyze } from "../src/sync/drift.js";
import { statCachePath, statCacheOp } from "../src/tree/statcache.js";
import { loadTrees } from "../src/tree/trees.js";
import { RealSystem } from "../src/system/real.js";
import { inRoot, makeRoot, writeSymplTree } from "./fixtures/sympl.js";
import { testContext } from "./support/context.js";
import type { ServerPath } from "../src/paths.js";

/** A RealSystem that counts file reads under the snippet trees. */
class CountingSystem extends RealSystem {
  reads = 0;
  override readFile(path: ServerPath): Buffer {
    if (path.includes(".d/")) this.reads += 1;
    return super.readFile(path);
  }
}

const APP: App = "exim4";
let root: string;
const GENERAL = "00-main/10-general";
const local = (rel: string) => inRoot(root, `/etc/exim4/sympl-local.d/${rel}`);

beforeEach(async () => {
  root = makeRoot();
  writeSymplTree(root, { apps: [APP] });
  const sys = new RealSystem(root);
  await applyPlan(sys, "test", planCreateLocalTree(sys, APP, new Date()), () => new Date());
  // Record the cache as a sync would, with every file long settled.
  const trees = loadTrees(sys, APP);
  await applyPlan(sys, "test", [statCacheOp(APP, trees.upstream, trees.local, new Set(), Date.now() + 60_000)], () => new Date());
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function driftStates(sys: RealSystem): Record<string, string> {
  const states = analyze(loadTrees(sys, APP, { useStatCache: true }), null);
  return Object.fromEntries(states.filter((s) => s.state !== "clean").map((s) => [s.path, s.state]));
}

describe("drift with a stat cache", () => {
  it("reads no snippet that has not changed since the cache was written", () => {
    const sys = new CountingSystem(root);
    expect(driftStates(sys)).toEqual({});
    expect(sys.reads).toBe(0);
  });

  it("reads and sees a file rewritten in place with the same size", () => {
    const old = readFileSync(local(GENERAL), "utf8");
    writeFileSync(local(GENERAL), old.replace(/[a-z]/, "X"));
    const sys = new CountingSystem(root);
    expect(driftStates(sys)).toEqual({ [GENERAL]: "local-modified" });
    expect(sys.reads).toBe(1);
  });

  it.each([
    ["cut short", (data: Buffer) => data.subarray(0, data.length - 5)],
    ["of another version", (data: Buffer) => Buffer.concat([Buffer.from("makefilecheck-statcache 1"), data.subarray(25)])],
    ["not a cache at all", () => Buffer.from("{ broken")],
  ])("is ignored when %s", (_why, damage) => {
    const path = inRoot(root, statCachePath(APP));
    writeFileSync(path, damage(readFileSync(path)));
    const sys = new CountingSystem(root);
    expect(driftStates(sys)).toEqual({});
    expect(sys.reads).toBeGreaterThan(10);
  });
});

describe("sync's stat cache step", () => {
  const cacheFile = () => inRoot(root, statCachePath(APP));

  it("is in the plan, not taken under --dry-run, and taken by the real run", async () => {
    rmSync(cacheFile());
    const dry = await sync(testContext(root, { apps: [APP], dryRun: true }), { _: [] });
    expect(dry.plan?.filter((op) => op.op === "cache").map((op) => "path" in op && op.path)).toEqual([statCachePath(APP)]);
    expect(existsSync(cacheFile())).toBe(false);
    const real = await sync(testContext(root, { apps: [APP] }), { _: [] });
    expect(real.code).toBe(0);
    expect(existsSync(cacheFile())).toBe(true);
  });

  it("rewrites the file only when its bytes change", async () => {
    const sys = new RealSystem(root);
    const trees = loadTrees(sys, APP);
    const op = statCacheOp(APP, trees.upstream, trees.local, new Set(), Date.now() + 60_000);
    const before = statSync(cacheFile());
    expect(await applyPlan(sys, "test", [op], () => new Date())).toEqual([]);
    expect(statSync(cacheFile()).ino).toBe(before.ino);
  });

  it("that cannot be written is a note; the sync itself succeeds", async () => {
    rmSync(cacheFile());
    mkdirSync(`${cacheFile()}/in-the-way`, { recursive: true });
    const ctx = testContext(root, { apps: [APP] });
    const result = await sync(ctx, { _: [] });
    expect(result.code).toBe(0);
    expect(ctx.notes).toEqual([expect.stringMatching(/cache\/exim4\.bin: drift's stat cache not written \(.*\); being a cache, nothing else is affected$/)]);
  });
});
