/**
 * What every command is given, and what it gives back. Commands are plain
 * async functions `(ctx, args) => CommandResult`, so tests call them
 * directly on a RealSystem rooted in a temp dir.
 */
import { EnvironmentError, isSystemFailure, problem } from "./errors.js";
import type { ExitCode } from "./errors.js";
import type { App } from "./server-layout.js";
import { APPS, appPaths, STATE_DIR, WRITTEN_DIRS } from "./server-layout.js";
import { applyPlan, finishInterrupted, JOURNAL } from "./plan.js";
import type { Op } from "./plan.js";
import type { System } from "./system/system.js";
import { planPrune, prunedLine } from "./saved.js";
import type { Keep } from "./saved.js";
import { childPath } from "./paths.js";
import type { ServerPath } from "./paths.js";

/** Parsed arguments as the commands see them. */
export type Args = Record<string, unknown> & { _: (string | number)[] };

/** Set to "1" in the environment, notes go to stderr under --json as well. */
export const JSON_NOTES_ENV = "MAKEFILECHECK_JSON_NOTES";

/** The run's options and its System (read-only for reading commands). */
export interface Context {
  sys: System;
  apps: App[];
  json: boolean;
  quiet: boolean;
  dryRun: boolean;
  /** Who runs this run, as the action log names it (`pid=N user=NAME`); absent in tests that call commands directly. */
  run?: string;
  /** List every step of a dry run's plan rather than its summary (--verbose; absent: the summary). */
  verbose?: boolean;
  color: boolean;
  /** How long to wait for another run's lock before exit 3 (the triggers wait longer than a person). */
  lockWaitMs: number;
  /** The time of this run: every date a command records or compares comes from here. */
  now(): Date;
  /** How much of saved/ the run keeps when it prunes (--keep-runs, --keep-days). */
  keep: Keep;
  /** Progress and notes for the admin, to stderr; silent under -q and --json. */
  note(line: string): void;
  /**
   * Where a command may refresh drift's stat cache, even one that only
   * reads: it writes inside the state directory's cache folder and nowhere
   * else. Absent under --dry-run.
   */
  caches?: System;
  /**
   * Where the metrics for node exporter may be written (src/monitor/): the
   * directory `monitor --prometheus` names or, for a mutating run, Debian's
   * textfile directory; its System writes inside `dir` and nowhere else.
   */
  textfile?: Textfile;
}

/** A textfile directory of node exporter and the System that may write in it alone. */
export interface Textfile {
  sys: System;
  dir: ServerPath;
}

/** Per-app JSON body: `{"app":"exim4", ...}`; doctor adds an entry `"app":"system"` for checks of no one app. */
export type AppReport = { app: App | "system" } & Record<string, unknown>;

/** What a command returns for src/command-line.ts to render. */
export interface CommandResult {
  code: ExitCode;
  /** The `apps` array of the --json document. */
  apps: AppReport[];
  /** Human output, already worded; printed unless -q or --json. */
  lines: string[];
  /** The plan, shown by --dry-run and included in --json. */
  plan?: Op[];
  /** Further top-level fields of the --json document, for output not about one app (e.g. hooks: its files). */
  data?: Record<string, unknown>;
  /**
   * What needs the admin, one line each: printed to stderr under -q, where
   * nothing else is, so cron and apt mail it (the lines already say it otherwise).
   */
  problems?: string[];
  /** One line on what a trigger's run changed, said even under -q (docs/sympl.md, telling the admin). */
  summary?: string;
  /** Set by a long-running command (watch) that printed its lines as they happened: render adds nothing. */
  streamed?: boolean;
}

const LOCK = childPath(STATE_DIR, "lock");

/**
 * Runs `body` holding the run lock, after finishing any run an earlier
 * process left half-applied, then prunes saved copies. Under --dry-run no
 * lock is taken. A lock that cannot be let go is reported: after a failed
 * body as a note, else as the run's error.
 */
export async function withLock<T>(ctx: Context, body: () => Promise<T>): Promise<T> {
  if (ctx.dryRun) {
    const planned = await body();
    await pruneSaved(ctx);
    return planned;
  }
  const release = await ctx.sys.lock(LOCK, ctx.lockWaitMs);
  let result: T;
  try {
    const finished = await finishInterrupted(ctx.sys, ctx.now());
    if (finished) ctx.note(finished);
    result = await body();
    await pruneSaved(ctx);
  } catch (err) {
    await release().catch((e: unknown) => ctx.note(`warning: ${e instanceof Error ? e.message : String(e)}`));
    throw err;
  }
  await release().catch((e: unknown) => {
    throw new EnvironmentError(problem(LOCK, `the run is done, but letting go of the lock failed: ${e instanceof Error ? e.message : String(e)}`, "the lock ends with this process; nothing else to do"));
  });
  return result;
}

/**
 * Removes what atomic writes of runs that died (killed, or a full disk)
 * left behind, in every directory we write: beside the Makefiles and the
 * key file, in the local trees, the state dir, beside the action log and
 * the upgrade triggers. Only those of processes that are gone: the lock
 * is not needed, a live run's temp files are never touched.
 */
function removeLeftovers(ctx: Context): void {
  const apps = APPS.map(appPaths);
  const removed = [
    ...ctx.sys.removeStaleTemps([...apps.map((p) => p.dir), ...WRITTEN_DIRS.filter((w) => !w.deep).map((w) => w.dir)], false),
    ...ctx.sys.removeStaleTemps([...apps.map((p) => p.local), ...WRITTEN_DIRS.filter((w) => w.deep).map((w) => w.dir)], true),
  ];
  if (removed.length) ctx.note(`removed ${removed.length} temp file(s) an earlier run left behind (${removed.slice(0, 3).join(", ")}${removed.length > 3 ? ", ..." : ""})`);
}

/**
 * Finishes, under the lock, a run that an earlier process left half-applied
 * (its journal is there), before a mutating command looks at the trees: a
 * plan or a config test of a half-copied tree would refuse for ever what
 * the journal would finish. A dry run can only say so. Temp files of dead
 * runs go first.
 */
export async function finishInterruptedFirst(ctx: Context): Promise<void> {
  if (!ctx.dryRun) removeLeftovers(ctx);
  if (!ctx.sys.stat(JOURNAL)) return;
  if (ctx.dryRun) {
    ctx.note(`${JOURNAL}: an interrupted run is waiting to be finished; a run without --dry-run finishes it first, so this plan may differ from that run's`);
    return;
  }
  await withLock(ctx, async () => {});
}

/** Prunes saved/ as ctx.keep says, at the end of a mutating run, and says what went (or would go). */
async function pruneSaved(ctx: Context): Promise<void> {
  for (const p of planPrune(ctx.sys, ctx.apps, ctx.now(), ctx.keep)) {
    await apply(ctx, "prune saved copies", p.ops);
    ctx.note(prunedLine(p, ctx.keep, ctx.dryRun));
  }
}

/** Applies a plan unless this is a dry run. */
export async function apply(ctx: Context, command: string, ops: Op[]): Promise<void> {
  if (ctx.dryRun) return;
  try {
    for (const note of await applyPlan(ctx.sys, command, ops, () => ctx.now(), ctx.run)) ctx.note(note);
  } catch (err) {
    // A failure of the system (an errno the System did not word) is exit 3;
    // a programming error stays one, reported as internal (exit 70).
    if (isSystemFailure(err)) throw new EnvironmentError(err.message);
    throw err;
  }
}
