/**
 * A run cut short leaves a journal; every mutating command finishes it,
 * under the lock, before it plans or config-tests anything. Here install
 * is cut short while it copies sympl-local.d: a half-copied tree that the
 * daemon rejects, which a plan made before the journal is finished would
 * refuse for ever.
 */
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { install } from "../src/changes/commands.js";
import type { Context } from "../src/context.js";
import { use } from "../src/makefilecheck/commands.js";
import { JOURNAL } from "../src/plan.js";
import { RealSystem } from "../src/system/real.js";
import { FaultySystem } from "../src/system/wrappers.js";
import { hashTree, inRoot, makeRoot, writeSymplTree } from "./fixtures/sympl.js";
import { testContext } from "./support/context.js";
import { missingBinaries } from "./support/daemons.js";
import { withTempRoot } from "./support/temp-root.js";

let root: string;
withTempRoot((r) => (root = r));

const SETTINGS = { _: [], set: ["AUTO_IMAP_PORT=1143", "AUTO_IMAPS_PORT=1993"], check: true };

/** install cut short early in its copy of sympl-local.d: exim4 rejects the half-copied tree. */
async function interruptedInstall(): Promise<void> {
  writeSymplTree(root);
  const ctx: Context = { ...testContext(root), sys: new FaultySystem(new RealSystem(root), 14) };
  await expect(install(ctx, SETTINGS)).rejects.toThrow(/step \d+ of \d+; steps before it are done/);
  expect(existsSync(inRoot(root, JOURNAL))).toBe(true);
}

/** The /etc an uninterrupted install leaves. */
async function uninterrupted(): Promise<string> {
  const other = makeRoot();
  writeSymplTree(other);
  expect((await install(testContext(other), SETTINGS)).code).toBe(0);
  return hashTree(inRoot(other, "/etc"));
}

describe.skipIf(missingBinaries("exim4", "dovecot"))("an interrupted install", () => {
  it("is finished by the next install before it plans or tests anything", async () => {
    await interruptedInstall();
    const ctx = testContext(root);
    const again = await install(ctx, SETTINGS);
    expect(again.code).toBe(0);
    expect(ctx.notes.join("\n")).toMatch(/finished the interrupted `install` run/);
    expect(again.plan).toEqual([]);
    expect(existsSync(inRoot(root, JOURNAL))).toBe(false);
    expect(hashTree(inRoot(root, "/etc"))).toBe(await uninterrupted());
  });

  it("is finished by `use local`, which status recommends", async () => {
    await interruptedInstall();
    const ctx = testContext(root);
    const result = await use(ctx, { _: [], mode: "local", check: true });
    expect(result.code).toBe(0);
    expect(ctx.notes.join("\n")).toMatch(/finished the interrupted `install` run/);
    expect(hashTree(inRoot(root, "/etc"))).toBe(await uninterrupted());
  });

  it("under --dry-run is left alone and said", async () => {
    await interruptedInstall();
    const before = hashTree(root);
    const ctx = testContext(root, { dryRun: true });
    await use(ctx, { _: [], mode: "local", check: false }).catch(() => {}); // dovecot has no local tree yet: refused
    expect(ctx.notes.join("\n")).toMatch(/an interrupted run is waiting to be finished/);
    expect(hashTree(root)).toBe(before);
  });
});
