/** Commands of the sync engine: drift, diff, sync. */
import { optionsOf } from "../args.js";
import type { CommandOptions } from "../args.js";
import type { AppReport, Args, CommandResult, Context } from "../context.js";
import { apply, finishInterruptedFirst, withLock } from "../context.js";
import { Exit, InputError, problem } from "../errors.js";
import type { ExitCode } from "../errors.js";
import type { App } from "../server-layout.js";
import { appPaths } from "../server-layout.js";
import { snippetPath } from "../paths.js";
import type { Op } from "../plan.js";
import { appsWithLocalTree } from "./drift-command.js";
import { baseObjectsFor, diffTrees } from "./diffs.js";
import type { Settle, SyncPlan } from "./plan-sync.js";
import { planSync, savedDirFor } from "./plan-sync.js";
import type { Rebuild } from "./rebuild.js";
import { planRebuild } from "./rebuild.js";
import { scanForSync } from "./snapshot.js";
import type { SyncSnapshot } from "./snapshot.js";
import { syncProblems, syncReportLines } from "./sync-report.js";
import { verifyBeforeSync } from "./verify.js";
import type { Verified } from "./verify.js";
import type { Trees } from "../tree/trees.js";
import { loadTrees } from "../tree/trees.js";

export { drift } from "./drift-command.js";

/** `diff [PATH]`: unified diffs upstream → local (or baseline → upstream with --base). */
export async function diff(ctx: Context, args: Args): Promise<CommandResult> {
  const lines: string[] = [];
  const apps: AppReport[] = [];
  const { path, base } = optionsOf("diff", args);
  const wanted = path === undefined ? undefined : snippetPath(path);
  let found = wanted === undefined;
  for (const app of appsWithLocalTree(ctx, lines)) {
    const trees = loadTrees(ctx.sys, app);
    if (base && !trees.baseline) {
      throw new InputError(problem(appPaths(app).local, "no baseline recorded yet", `run \`makefilecheck sync -a ${app}\` (it adopts the tree) before diff --base`));
    }
    if (wanted !== undefined && !knowsPath(trees, wanted)) continue;
    found = true;
    const paths = wanted === undefined ? undefined : [wanted];
    const diffs = diffTrees(trees, paths, base ? baseObjectsFor(ctx.sys, trees, paths) : undefined);
    apps.push({ app, diffs });
    for (const d of diffs) {
      if (d.binary) lines.push(`${app}: binary files ${base ? "baseline" : "sympl.d"}/${d.path} and ${base ? "sympl.d" : "sympl-local.d"}/${d.path} differ`);
      else lines.push(`# ${app}`, ...(d.patch ?? "").replace(/\n$/, "").split("\n"));
    }
  }
  if (!found) throw new InputError(problem(wanted, `not a snippet in sympl.d or sympl-local.d of ${ctx.apps.join(" or ")}`, "give a path relative to the tree, e.g. 00-main/50-tls-options"));
  if (lines.length === 0) lines.push(base ? "sympl.d has not changed since the baseline" : "no differences");
  return { code: Exit.ok, apps, lines };
}

/** True when `rel` is a snippet path in any of the app's three trees. */
function knowsPath(trees: Trees, rel: string): boolean {
  return trees.upstream.entries.has(rel) || trees.local.entries.has(rel) || Boolean(trees.baseline?.files[rel]) || trees.local.waiting.includes(rel);
}

/** Reads --take-upstream/--keep-local, refusing bad or contradictory paths. */
function settleOf(o: CommandOptions["sync"]): Settle {
  const list = (paths: string[]) => new Set<string>(paths.map(snippetPath));
  const settle = { takeUpstream: list(o["take-upstream"]), keepLocal: list(o["keep-local"]) };
  const both = [...settle.takeUpstream].find((p) => settle.keepLocal.has(p));
  if (both) throw new InputError(problem(both, "given to both --take-upstream and --keep-local", "choose one"));
  return settle;
}

/** One app's plan with the snapshot it was made from. */
interface AppSync {
  app: App;
  adopted: boolean;
  plan: SyncPlan;
  trees: SyncSnapshot;
}

/**
 * `sync`: bring upstream changes into sympl-local.d (docs/sympl.md, sync).
 * Every app is planned before anything is written, so a refusal leaves all
 * trees as they were.
 */
export async function sync(ctx: Context, args: Args): Promise<CommandResult> {
  const o = optionsOf("sync", args);
  const settle = settleOf(o);
  await finishInterruptedFirst(ctx);
  const lines: string[] = [];
  const now = ctx.now();
  // Checked before the lock: a refusal must not even create the state dir.
  const apps = appsWithLocalTree(ctx, lines);
  return withLock(ctx, async () => {
    const syncs: AppSync[] = [];
    const named = new Set<string>();
    for (const app of apps) {
      const trees = scanForSync(ctx.sys, app, { adopt: o.adopt });
      for (const p of [...settle.takeUpstream, ...settle.keepLocal]) if (knowsPath(trees, p)) named.add(p);
      syncs.push({ app, adopted: trees.baseline === null, plan: planSync(trees, { settle, now }), trees });
    }
    const unknown = [...settle.takeUpstream, ...settle.keepLocal].find((p) => !named.has(p));
    if (unknown) throw new InputError(problem(unknown, `not a snippet in sympl.d or sympl-local.d of ${apps.join(" or ")}`, "nothing was changed"));
    const syncOps: Op[] = syncs.flatMap((s) => s.plan.ops);
    // Every live tree is tested as the plan leaves it before anything is written.
    const verdicts = new Map<App, Verified>();
    for (const s of syncs) verdicts.set(s.app, await verifyBeforeSync(ctx, s.app, syncOps, s.plan.ops.length > 0));
    const refused = [...verdicts.values()].some((v) => v.failed);
    const rebuilds = new Map<App, Rebuild>();
    if (o.make && !refused) for (const s of syncs) rebuilds.set(s.app, await planRebuild(ctx, s.app, syncOps, s.plan.savedDir ?? savedDirFor(s.app, now, s.trees.savedRuns), verdicts.get(s.app)?.result));
    // applyPlan runs the file steps, then the stat caches' refresh, then every rebuild (its `run` steps) in app order.
    const ops = [...syncOps, ...syncs.map((s) => s.plan.refreshCache), ...[...rebuilds.values()].flatMap((r) => r.ops)];
    if (!refused) await apply(ctx, "sync", ops);
    const reports: AppReport[] = [];
    let code: ExitCode = refused ? Exit.actionNeeded : Exit.ok;
    const problems: string[] = [];
    const unwritten = ctx.dryRun ? "dry run" : refused ? "a config test failed" : null;
    for (const s of syncs) {
      const rebuild = rebuilds.get(s.app);
      const verified = verdicts.get(s.app) ?? { lines: [], failed: false };
      const built = rebuild ? { before: rebuild.before, rebuilt: rebuild.ops.some((op) => op.op === "run" && op.cmd === "make"), reloaded: rebuild.ops.some((op) => op.op === "run" && op.cmd !== "make") } : undefined;
      const report = { app: s.app, adopted: s.adopted, entries: s.plan.entries, saved: s.plan.savedDir, waiting: s.plan.waiting, unsettled: s.plan.unsettled, configTest: verified.result ?? rebuild?.test, written: unwritten === null, ...(built ? { built } : {}) };
      reports.push(report);
      lines.push(...syncReportLines(s.app, s.plan, s.adopted, unwritten, { tested: verified.lines, rebuilt: rebuild?.said ?? [] }));
      problems.push(...syncProblems(s.app, s.plan), ...(verified.failed ? verified.lines.slice(0, 1) : []), ...(rebuild?.problems ?? []));
      if (s.plan.waiting.length || s.plan.unsettled.length || s.plan.entries.some((e) => e.action === "conflict" || e.action === "kept-retired") || rebuild?.problems.length) code = Exit.actionNeeded;
    }
    return { code, apps: reports, lines, plan: ops, problems };
  });
}
