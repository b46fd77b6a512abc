/**
 * Commands of the Makefile manager: use, repair, revert, check (status
 * and report are in status.ts). Each observes every app first, plans all of them, and only then
 * applies one plan under the run lock, so a refusal for one app changes
 * nothing anywhere.
 */
import { optionsOf } from "../args.js";
import { apply, finishInterruptedFirst, withLock } from "../context.js";
import type { AppReport, Args, CommandResult, Context } from "../context.js";
import { InputError, UserError, problem } from "../errors.js";
import type { ExitCode } from "../errors.js";
import type { App, Mode } from "../server-layout.js";
import { appPaths, snippetDir } from "../server-layout.js";
import type { Op } from "../plan.js";
import { JOURNAL, samePlan } from "../plan.js";
import { refusalWords, runConfigTest } from "../tree/configtest.js";
import { observe } from "./observe.js";
import { detectProfile, worstCode } from "./profile.js";
import type { SwitchPlan } from "./switch.js";
import { planRevert, planSwitch, refuseFatal } from "./switch.js";

// The reading commands live in a module of their own, so that `status` loads little (docs/architecture.md, Budgets).
export { report, status } from "./status.js";

/** Options of a switch to a mode. */
export interface UseOptions {
  /** Run the daemon's config test on the tree first and refuse if it fails. */
  check: boolean;
  /** Add a `make APP.conf` step that builds the config. */
  make: boolean;
}

/** A switch plan plus the config test's verdict. */
interface Planned extends SwitchPlan {
  test: "passed" | "failed" | "skipped" | "not run";
}

/**
 * Plans one app's switch to `mode`, running the config test on the tree
 * about to go live when something changes. Throws InputError when the test
 * fails or sympl-local.d is missing, EnvironmentError when the setup is
 * unusable.
 */
async function planMode(ctx: Context, app: App, mode: Mode, opts: UseOptions, now = ctx.now()): Promise<Planned> {
  const plan = planSwitch(observe(ctx.sys, app), mode, now);
  const p = appPaths(app);
  let test: Planned["test"] = "not run";
  if (plan.liveChanged && opts.check) {
    const result = await runConfigTest(ctx.sys, app, mode);
    test = result.status;
    if (result.status === "failed") {
      throw new InputError(
        problem(snippetDir(app, mode), `${app} rejects the config built from it: ${refusalWords(result, 6)}`, "fix the snippet, or pass --no-check to switch anyway", result.source),
      );
    }
    if (result.status === "skipped") plan.lines.push(`${app}: config test skipped: ${result.output}`);
  }
  if (!plan.liveChanged) return { ...plan, test };
  if (opts.make) {
    plan.ops.push({ op: "run", cmd: "make", args: [`${app}.conf`], cwd: p.dir, why: "test and build the config" });
  } else {
    plan.lines.push(`${app}: run \`cd ${p.dir} && make\` to build the config and restart ${app}`);
  }
  return { ...plan, test };
}

/**
 * The plan that makes `mode` live for `app` (for `install`): call it once
 * sympl-local.d exists on disk. `lines` are for the admin (a skipped
 * config test, the `make` still to run), said after what the caller did.
 * Throws InputError or EnvironmentError when it refuses.
 */
export async function planUse(ctx: Context, app: App, mode: Mode, opts: UseOptions): Promise<{ ops: Op[]; lines: string[] }> {
  const { ops, lines } = await planMode(ctx, app, mode, opts);
  return { ops, lines };
}

/** One app's part of a mutating command: its plan and what --json says about it. */
interface AppPlan {
  app: App;
  plan: SwitchPlan;
  info: Record<string, unknown>;
  /** Exit code when the app needs the admin although nothing is planned. */
  code?: ExitCode;
}

/** Plans every app; `check` says whether config tests run in this pass. */
type PlanAll = (now: Date, check: boolean) => Promise<AppPlan[]>;

const opsOf = (plans: AppPlan[]): Op[] => plans.flatMap((p) => p.plan.ops);

/**
 * Plans, then applies under the run lock. The first pass runs outside the
 * lock so that every refusal (a bad Makefile, a failing config test) leaves
 * no trace, not even the state dir; under the lock the plan is made again,
 * and what is applied is always a plan of the setup as the lock found it.
 */
async function planLockApply(ctx: Context, command: string, planAll: PlanAll, idle: (app: App) => string): Promise<CommandResult> {
  await finishInterruptedFirst(ctx);
  const now = ctx.now();
  let first = await planAll(now, true);
  const result = (): CommandResult => {
    const lines = first.flatMap(({ app, plan }) => (plan.ops.length || plan.lines.length ? plan.lines : [idle(app)]));
    const apps = first.map(({ app, plan, info }) => ({ app, ...info, changed: plan.ops.length > 0, notes: plan.lines }));
    // What -q still says: the lines of an app that needs the admin.
    const problems = first.filter((p) => (p.code ?? 0) !== 0).flatMap((p) => p.plan.lines);
    return { code: worstCode(first.map((p) => p.code ?? 0)), apps, lines, plan: opsOf(first), problems };
  };
  // Nothing to do and no interrupted run to finish: leave even the state dir alone.
  if (first.every((p) => p.plan.ops.length === 0) && !ctx.sys.stat(JOURNAL)) return result();
  return withLock(ctx, async () => {
    // Taking the lock may have finished an interrupted run; then plan afresh, config tests included.
    if (!samePlan(opsOf(await planAll(now, false)), opsOf(first))) first = await planAll(now, true);
    await apply(ctx, command, opsOf(first));
    return result();
  });
}

/** `use local|sympl`: make that tree live for every selected app. */
export async function use(ctx: Context, args: Args): Promise<CommandResult> {
  const { mode, ...opts } = optionsOf("use", args);
  if (mode !== "local" && mode !== "sympl") throw new InputError(`use: unknown mode ${String(mode)} — say local or sympl`);
  const planAll: PlanAll = async (now, check) => {
    const planned: AppPlan[] = [];
    for (const app of ctx.apps) {
      const plan = await planMode(ctx, app, mode, { ...opts, check: opts.check && check }, now);
      if (plan.ops.length) plan.lines.unshift(`${app}: builds from ${snippetDir(app, mode)} (Makefile -> Makefile.${mode})`);
      planned.push({ app, plan, info: { mode, test: plan.test } });
    }
    return planned;
  };
  return planLockApply(ctx, `use ${mode}`, planAll, (app) => `${app}: already uses ${mode}; nothing to do`);
}

/**
 * Whether `repair` has anything to do or say for `app`: a damage to put
 * right, or a setup it cannot read (unclear, fatal). The watcher asks this
 * in-process and starts a repair child only when it is true.
 */
export function repairWanted(sys: Context["sys"], app: App): boolean {
  try {
    const det = detectProfile(observe(sys, app));
    return det.repairNeeded || det.profile === "unclear" || det.code !== 0;
  } catch (err) {
    // A setup that cannot be read is repair's to report; a bug is not hidden.
    if (err instanceof UserError) return true;
    throw err;
  }
}

/**
 * `repair`: restore the recorded mode (else the one the Makefile link
 * shows) after an upgrade or a script damaged the setup.
 */
export async function repair(ctx: Context, args: Args): Promise<CommandResult> {
  const opts = optionsOf("repair", args);
  const planAll: PlanAll = async (now, check) => {
    const planned: AppPlan[] = [];
    for (const app of ctx.apps) {
      const det = detectProfile(observe(ctx.sys, app));
      refuseFatal(det);
      const info = { profile: det.profile, damage: det.damage, mode: det.mode };
      if (!det.repairNeeded || !det.mode) {
        const stuck = det.profile === "unclear" || det.code !== 0;
        const lines = stuck ? [`${app}: ${det.problem}; cannot tell which tree you chose — run \`makefilecheck use local\` or \`makefilecheck use sympl\``] : [];
        planned.push({ app, plan: { ops: [], lines, liveChanged: false }, info, code: stuck ? 1 : 0 });
        continue;
      }
      const plan = await planMode(ctx, app, det.mode, { ...opts, check: opts.check && check }, now);
      plan.lines.unshift(`${app}: ${det.problem}; restoring ${det.mode} (Makefile -> Makefile.${det.mode})`);
      planned.push({ app, plan, info: { ...info, test: plan.test } });
    }
    return planned;
  };
  return planLockApply(ctx, "repair", planAll, (app) => `${app}: nothing to repair`);
}

/** `revert --force`: back to the plain upstream Makefile; sympl-local.d is kept. */
export async function revert(ctx: Context, args: Args): Promise<CommandResult> {
  if (!optionsOf("revert", args).force) {
    throw new InputError("revert: removes Makefile.local and Makefile.sympl and makes the plain upstream Makefile live — add --force to do it");
  }
  const planAll: PlanAll = async (now) =>
    ctx.apps.map((app) => {
      const plan = planRevert(observe(ctx.sys, app), now);
      const p = appPaths(app);
      if (plan.ops.length) {
        plan.lines.unshift(`${app}: ${p.makefile} is the plain upstream Makefile again (builds from ${p.upstream}); ${p.local} is kept`);
        if (plan.liveChanged) plan.lines.push(`${app}: run \`cd ${p.dir} && make\` to build the config and restart ${app}`);
      }
      return { app, plan, info: {} };
    });
  return planLockApply(ctx, "revert", planAll, (app) => `${app}: already a plain upstream Makefile; nothing to do`);
}

/** `check`: the daemon's verdict on the tree each live Makefile builds from. */
export async function check(ctx: Context, _args: Args): Promise<CommandResult> {
  const apps: AppReport[] = [];
  const lines: string[] = [];
  let code: ExitCode = 0;
  for (const app of ctx.apps) {
    const det = detectProfile(observe(ctx.sys, app));
    refuseFatal(det);
    if (!det.live) {
      throw new InputError(problem(appPaths(app).makefile, "builds from neither sympl.d nor sympl-local.d", "run `makefilecheck status` to see why"));
    }
    const result = await runConfigTest(ctx.sys, app, det.live);
    const tree = snippetDir(app, det.live);
    if (result.status === "failed") code = 1;
    apps.push({ app, tree, test: result.status, output: result.output, ...(result.source ? { source: result.source } : {}) });
    if (result.status === "passed") lines.push(`${app}: config test passed (${tree})`);
    else if (result.status === "skipped") lines.push(`${app}: config test skipped: ${result.output}`);
    else lines.push(`${app}: config test FAILED (${tree}): ${refusalWords(result, 6)}`);
  }
  // Under -q only the failures are said (a passed or skipped test is all well).
  return { code, apps, lines, problems: lines.filter((l) => l.includes(" FAILED "))};
}
