/**
 * The watcher's rounds as child processes of the same CLI. A sync reads and
 * writes whole snippet trees; run inside the long-lived watcher, it grows
 * V8's heap by tens of MiB that V8 keeps long after the garbage is gone. A
 * child (`makefilecheck repair|sync --json ...`) hands all of it back when
 * it exits. The child's JSON document and exit code become the same
 * CommandResult (or thrown error) the command function would have given,
 * so the watcher reports both alike.
 */
import { JSON_NOTES_ENV } from "../context.js";
import type { AppReport, Args, CommandResult, Context } from "../context.js";
import { EnvironmentError, Exit, InputError, LockHeldError, problem } from "../errors.js";
import type { ExitCode } from "../errors.js";
import type { RunResult } from "../system/system.js";
import { TRIGGER_WAIT_S } from "./hook-files.js";

/** A round command run as a child: same (ctx, args) shape as the command functions. */
export type ChildCommand = (ctx: Context, args: Args) => Promise<CommandResult>;

/**
 * How long a child may run. Far beyond any real round (a sync of thousands
 * of snippets with a config test takes seconds); it only stops a child
 * that hangs from blocking every later round for good.
 */
const CHILD_TIMEOUT_MS = 30 * 60_000;

/** The prefix src/render.ts puts before an error line. */
const ERROR_PREFIX = "makefilecheck: ";

/** The command line of one child: the action with the watcher's own options. */
function childArgs(launcher: string, action: "repair" | "sync", ctx: Context, args: Args): string[] {
  return [
    launcher,
    action,
    "--json",
    "--root",
    ctx.sys.root,
    ...ctx.apps.flatMap((app) => ["-a", app]),
    // A trigger's wait, unless the watcher was given its own.
    "--wait",
    String(args.wait ?? TRIGGER_WAIT_S),
    ...(ctx.quiet ? ["-q"] : []),
    // A watcher that only shows what it would do must not have its child write.
    ...(ctx.dryRun ? ["--dry-run"] : []),
    ...(action === "sync" && args.make ? ["--make"] : []),
  ];
}

/** A command's idle words, as it prints them for an app with nothing to do. */
function idleLine(action: string, app: string): string {
  return `${app}: nothing to ${action}`;
}

/**
 * The human lines of a result, from its reports (the child printed JSON):
 * an app's notes, or its idle line when it changed nothing.
 */
function linesOf(action: string, reports: AppReport[]): string[] {
  return reports.flatMap((r) => {
    const notes = Array.isArray(r.notes) ? r.notes.map(String) : [];
    return notes.length ? notes : r.changed === false ? [idleLine(action, r.app)] : [];
  });
}

/** The stderr lines of a child, without blanks. */
function stderrLines(run: RunResult): string[] {
  return run.stderr.split("\n").map((l) => l.trimEnd()).filter(Boolean);
}

/** The kind of error the child's --json error document names (see src/cli.ts), if it printed one. */
function errorKind(stdout: string): unknown {
  try {
    return (JSON.parse(stdout) as { error?: { kind?: unknown } }).error?.kind;
  } catch {
    return undefined;
  }
}

/** The error a child that exited 2 or 3 (or worse) ended with, worded as the CLI worded it. */
function childError(action: string, run: RunResult, errorLine: string | undefined): Error {
  const message = errorLine?.slice(ERROR_PREFIX.length);
  if (message && run.exitCode === Exit.environment && errorKind(run.stdout) === "LockHeldError") return new LockHeldError(message);
  if (message && run.exitCode === Exit.badInput) return new InputError(message);
  if (message && run.exitCode === Exit.environment) return new EnvironmentError(message);
  const said = errorLine ?? stderrLines(run).at(-1) ?? "no message";
  const what = run.stopped ? "did not finish" : run.exitCode === 127 ? "could not be started" : `exited ${run.exitCode}`;
  return new EnvironmentError(problem(`makefilecheck ${action}`, `the child run ${what} (${said})`, "run it by hand to see why"));
}

/** Reads the child's JSON document into a CommandResult. */
function resultOf(action: string, code: ExitCode, stdout: string): CommandResult {
  let doc: { apps?: unknown } & Record<string, unknown>;
  try {
    doc = JSON.parse(stdout) as typeof doc;
  } catch {
    throw new EnvironmentError(problem(`makefilecheck ${action} --json`, "printed no JSON document", "run it by hand to see why"));
  }
  const { apps, ...data } = doc;
  const reports = Array.isArray(apps) ? (apps as AppReport[]) : [];
  // `data` keeps the rest of the document: the plan (already in its JSON form) and dryRun.
  return { code, apps: reports, lines: linesOf(action, reports), data };
}

/**
 * `action` as a child of `launcher` (this package's bin/makefilecheck), run
 * through ctx.sys with the watcher's node. Its stderr lines other than the
 * error it ended with are handed to ctx.note; exit 0 and 1 give the result,
 * exit 2 and 3 throw the error the child printed (a LockHeldError when its
 * JSON document says the lock was busy).
 */
export function childCommand(launcher: string, action: "repair" | "sync"): ChildCommand {
  return async (ctx, args) => {
    const run = await ctx.sys.act(process.execPath, childArgs(launcher, action, ctx, args), {
      timeoutMs: CHILD_TIMEOUT_MS,
      // Under --json the child keeps its notes to itself unless asked.
      env: { [JSON_NOTES_ENV]: "1" },
      // The watcher lets the round in flight finish on Ctrl-C; the child must not get that SIGINT.
      detached: true,
    });
    // A watcher under --dry-run records its rounds' children and runs none.
    if (run.recorded) return { code: Exit.ok, apps: ctx.apps.map((app) => ({ app, changed: false })), lines: [`dry run: would run makefilecheck ${action}`] };
    const lines = stderrLines(run);
    const finished = run.exitCode === Exit.ok || run.exitCode === Exit.actionNeeded;
    const errorLine = finished ? undefined : [...lines].reverse().find((l) => l.startsWith(ERROR_PREFIX));
    for (const l of lines) if (l !== errorLine) ctx.note(l);
    if (!finished) throw childError(action, run, errorLine);
    return resultOf(action, run.exitCode as ExitCode, run.stdout);
  };
}
