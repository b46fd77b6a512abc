/**
 * Drift's stat cache: unchanged files go unread, and a change the cache
 * could hide (same size, rewritten in place) is still seen.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { App } from "../src/server-layout.js";
import { applyPlan } from "../src/plan.js";
import { planCreateLocalTree } from "../src/tree/clone.js";
import { analyze } from "../src/sync/drift.js";
import { statCachePath, writeStatCache } from "../src/tree/statcache.js";
import { loadTrees } from "../src/tree/trees.js";
import { RealSystem } from "../src/system/real.js";
import { inRoot, makeRoot, writeSymplTree } from "./fixtures/sympl.js";

/** A RealSystem that counts file reads under the snippet trees. */
class CountingSystem extends RealSystem {
  reads = 0;
  override readFile(path: string): Buffer {
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
  writeStatCache(sys, APP, trees.upstream, trees.local, new Set(), Date.now() + 60_000);
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
