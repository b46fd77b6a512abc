/**
 * --dry-run is inert by type: under it a command is given a System that
 * records writes and actions (make, reload, child runs) and runs none.
 * Every command that takes both --dry-run and --make is run twice: as the
 * CLI runs it, and with the context's dry-run flag cleared while its
 * System stays the dry-run one (what removing a guard in the code would
 * do). Both times the tree stays byte-identical and no built config is
 * written; the make is recorded, not run.
 */
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { install } from "../src/changes/commands.js";
import type { Args, CommandResult, Context } from "../src/context.js";
import { repair, use } from "../src/makefilecheck/commands.js";
import { sync } from "../src/sync/commands.js";
import { DryRunSystem } from "../src/system/wrappers.js";
import { damageKeepOld, hashTree, inRoot, upgradeUpstream, writeSymplTree } from "./fixtures/sympl.js";
import { testContext } from "./support/context.js";
import { caninstallTree, managedTree } from "./support/makefilecheck-trees.js";
import { withTempRoot } from "./support/temp-root.js";

let root: string;
withTempRoot((r) => (root = r));

type Case = [string, (root: string) => Promise<void> | void, (ctx: Context, args: Args) => Promise<CommandResult>, Args];

const cases: Case[] = [
  ["use local --make", (r) => caninstallTree(r), use, { _: [], mode: "local", check: false, make: true }],
  ["repair --make", async (r) => {
    await managedTree(r);
    damageKeepOld(r, "exim4");
  }, repair, { _: [], check: false, make: true }],
  ["sync --make", async (r) => {
    await managedTree(r);
    upgradeUpstream(r, "exim4", { add: { "00-main/70-new": "# new upstream snippet\n" } });
  }, sync, { _: [], make: true }],
  ["install --make", (r) => writeSymplTree(r), install, { _: [], set: ["AUTO_IMAP_PORT=1143", "AUTO_IMAPS_PORT=1993"], check: false, make: true }],
];

describe.each(cases)("%s under --dry-run", (_name, build, command, args) => {
  const builtConfigs = () => ["/etc/exim4/exim4.conf", "/etc/dovecot/dovecot.conf"].filter((p) => existsSync(inRoot(root, p)));

  it("as the CLI runs it: the tree is byte-identical, no built config, the make only in the plan", async () => {
    await build(root);
    const before = hashTree(root);
    const built = builtConfigs();
    const result = await command(testContext(root, { dryRun: true }), args);
    expect(result.plan?.some((op) => op.op === "run" && op.cmd === "make")).toBe(true);
    expect(hashTree(root)).toBe(before);
    expect(builtConfigs()).toEqual(built);
  });

  it("with the dry-run flag cleared but the dry-run System kept: still nothing written, make recorded, not run", async () => {
    await build(root);
    const before = hashTree(root);
    const built = builtConfigs();
    const base = testContext(root, { dryRun: true });
    const ctx = { ...base, dryRun: false };
    await command(ctx, args);
    const calls = (base.sys as DryRunSystem).calls;
    expect(calls.some((c) => c.method === "act" && c.args[0] === "make")).toBe(true);
    expect(calls.some((c) => c.method === "writeFile")).toBe(true);
    expect(hashTree(root)).toBe(before);
    expect(builtConfigs()).toEqual(built);
  });
});
