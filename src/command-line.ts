/**
 * One command line, run: read argv against the command table
 * (src/args.ts), build the System stack the command may use, run the
 * command, render its result, and turn every error into one line and an
 * exit code. Nothing else prints. src/cli.ts gives it the commands.
 */
import { resolve } from "node:path";
import { parseCommandLine } from "./args.js";
import type { CommandName, Parsed } from "./args.js";
import { JSON_NOTES_ENV } from "./context.js";
import type { Args, CommandResult, Context, Textfile } from "./context.js";
import { Exit, InputError, UserError, partsOf, problem } from "./errors.js";
import type { ExitCode } from "./errors.js";
import { helpText } from "./help.js";
import { APPS, CACHE_DIR, ROOTED_DIRS, TEXTFILE_DIR } from "./server-layout.js";
import type { App } from "./server-layout.js";
import { printError, printErrorDocument, printHelp, printNote, render, stdoutIsTerminal, terminalColumns, wantsColor } from "./render.js";
import { DEFAULT_KEEP } from "./saved.js";
import { RealSystem } from "./system/real.js";
import { CacheOnlySystem, DryRunSystem, ReadOnlySystem } from "./system/wrappers.js";
import { VERSION } from "./version.js";
import { hostPath, serverPath } from "./paths.js";
import { appOfStep, fileChanges, shownSteps } from "./plan.js";
import { schemaId } from "./json-contract.js";
import type { Reader } from "./system/system.js";
import { onHostReader } from "./system/host.js";
import { invokingUser } from "./system/invoker.js";
import { logOutcome } from "./plan.js";

/** A command as a command line runs it. */
export type Command = (ctx: Context, args: Args) => Promise<CommandResult>;

/** How long a mutating run started by hand waits for another run's lock before exit 3. */
const LOCK_WAIT_MS = 3_000;

/** The lock wait --wait asks for, checked. */
function lockWaitOf(value: unknown): number {
  if (value === undefined) return LOCK_WAIT_MS;
  const seconds = Number(value);
  if (String(value).trim() === "" || !Number.isFinite(seconds) || seconds < 0 || seconds > 3600) {
    throw new InputError(problem(`--wait ${String(value)}`, "not a number of seconds from 0 to 3600"));
  }
  return Math.round(seconds * 1000);
}

/**
 * Checks --root and the app list, and builds the Context for one command.
 * Under --json its notes are also collected in `notes`, for the document.
 */
function makeContext(chosen: { command: CommandName; args: Args; writes: boolean }, notes: string[]): Context {
  const a = chosen.args;
  // resolve("") is the current directory: an empty --root (an unset shell variable) must not mean that.
  if (String(a.root ?? "/") === "") throw new InputError(problem("--root ''", "empty", "give the directory that stands for / (--root / for this server)"));
  const root = resolve(String(a.root ?? "/"));
  const rootEntry = new RealSystem("/").stat(onHostReader(hostPath(root)));
  if (rootEntry?.type !== "dir") {
    const what = rootEntry ? `is a ${rootEntry.type === "link" ? "symlink" : rootEntry.type}, not a directory` : "no such directory";
    throw new InputError(problem(`--root ${root}`, what, "give the directory itself that stands for /"));
  }
  const real = new RealSystem(root);
  refuseSymlinkedDirs(real);
  const dryRun = Boolean(a["dry-run"]);
  const sys = !chosen.writes ? new ReadOnlySystem(real) : dryRun ? new DryRunSystem(real) : real;
  const given = (a.app as App[] | undefined) ?? [];
  const apps = given.length ? given : [...APPS];
  const json = Boolean(a.json);
  const quiet = Boolean(a.quiet);
  return {
    sys,
    apps: APPS.filter((app) => apps.includes(app)),
    json,
    quiet,
    dryRun,
    run: `pid=${process.pid} user=${invokingUser()}`,
    verbose: Boolean(a.verbose),
    lockWaitMs: lockWaitOf(a.wait),
    color: wantsColor(Boolean(a.color), process.env, stdoutIsTerminal),
    now: () => new Date(),
    keep: {
      runs: typeof a["keep-runs"] === "number" ? a["keep-runs"] : DEFAULT_KEEP.runs,
      days: typeof a["keep-days"] === "number" ? a["keep-days"] : DEFAULT_KEEP.days,
    },
    caches: dryRun ? undefined : new CacheOnlySystem(real, CACHE_DIR),
    textfile: textfileOf(chosen, real, dryRun),
    note: (line) => {
      if (json) notes.push(line);
      // A parent reading the --json document (the watcher's rounds) asks for the notes on stderr too.
      if (!quiet && (!json || process.env[JSON_NOTES_ENV] === "1")) printNote(line);
    },
  };
}

/**
 * Where the metrics for node exporter may go: the directory `monitor
 * --prometheus DIR` names (under --root), else, for a mutating run,
 * Debian's textfile directory, written only when it exists.
 */
function textfileOf(chosen: { command: CommandName; args: Args; writes: boolean }, real: RealSystem, dryRun: boolean): Textfile | undefined {
  const given = chosen.command === "monitor" ? chosen.args.prometheus : undefined;
  if (typeof given === "string" && !given.startsWith("/")) {
    throw new InputError(problem(`--prometheus ${given}`, "not an absolute path", `give node exporter's textfile directory, e.g. ${TEXTFILE_DIR}`));
  }
  const dir = typeof given === "string" ? serverPath(given) : chosen.writes && !dryRun ? TEXTFILE_DIR : null;
  return dir === null ? undefined : { sys: new CacheOnlySystem(real, dir), dir };
}

/**
 * True when a run is recorded as the last run for the monitoring outputs:
 * a mutating run of the mail setup, not a dry run; not the watcher (each of
 * its rounds is such a run) nor `hooks`.
 */
function recordsRun(parsed: Parsed, ctx: Context): boolean {
  return parsed.kind === "run" && parsed.writes && !ctx.dryRun && parsed.command !== "watch" && parsed.command !== "hooks";
}

/**
 * Refuses a --root other than / where a directory on the way to what we
 * read or write (`etc`, `var/lib`, ...) is a symlink: every path below it
 * would be read, planned and tested outside the root.
 */
function refuseSymlinkedDirs(sys: Reader): void {
  if (sys.root === "/") return;
  for (const dir of ROOTED_DIRS) {
    let walked = "";
    for (const part of dir.split("/").filter(Boolean)) {
      walked = `${walked}/${part}`;
      const st = sys.stat(serverPath(walked));
      if (st?.type === "link") {
        const host = sys.hostPath(serverPath(walked));
        throw new InputError(problem(`--root ${sys.root}`, `${host} is a symlink (to ${sys.readLink(serverPath(walked))}): what is below it is outside the root`, "give a root whose directories are its own (a copy made with `cp -a` is)"));
      }
      if (st?.type !== "dir") break;
    }
  }
}

/** What an error that is not the admin's to fix (a bug of ours) says, in the one-line shape. */
function internalError(err: unknown): UserError {
  const said = err instanceof Error ? err.message : String(err);
  const fix = "a bug in makefilecheck, not a verdict on this machine: run again with MAKEFILECHECK_DEBUG=1 and report what it prints";
  return new UserError(problem(undefined, `internal error: ${said}`, fix), Exit.internal);
}

/**
 * A writing command's result with `changed`, top level and per app (true
 * when the plan has a step, or under --dry-run would have), and under
 * `--dry-run --json` each file's text before and after the plan (`diff`):
 * what Ansible's check and diff modes read (README, "The JSON documents").
 */
function withChanges(ctx: Context, result: CommandResult): CommandResult {
  if (result.streamed) return result;
  const steps = shownSteps(result.plan ?? []);
  const apps = result.apps.map((a) => ({ ...a, changed: steps.some((op) => appOfStep(op) === a.app) }));
  const diff = ctx.dryRun && ctx.json ? { diff: fileChanges(ctx.sys, steps) } : {};
  return { ...result, apps, data: { ...result.data, changed: steps.length > 0, ...diff } };
}

/**
 * Runs one command line, `argv` (without node and script), with the
 * command `load` gives; resolves to the exit code.
 */
export async function runCommandLine(argv: string[], load: (name: CommandName) => Promise<Command>): Promise<ExitCode> {
  // Until the command line is read, a literal --json is the only sign of it: a refused call still answers in JSON.
  let json = argv.includes("--json");
  // What the run noted (what it pruned, an interrupted run it finished): under --json, part of the document.
  const notes: string[] = [];
  // Set once a run is under way that afterRun records (src/monitor/command.ts).
  let after: ((code: ExitCode, message?: string) => Promise<void>) | undefined;
  // A run that may change the server: its failures go to the action log too.
  let logged: { ctx: Context; command: CommandName } | undefined;
  try {
    const parsed = parseCommandLine(argv);
    if (parsed.kind === "help") {
      printHelp(helpText(parsed.command, Math.min(100, terminalColumns())));
      return Exit.ok;
    }
    if (parsed.kind === "version") {
      printHelp(`${VERSION}\n`);
      return Exit.ok;
    }
    const ctx = makeContext(parsed, notes);
    if (parsed.writes && !ctx.dryRun) logged = { ctx, command: parsed.command };
    if (recordsRun(parsed, ctx)) after = async (code, message) => (await import("./monitor/command.js")).afterRun(ctx, parsed.command, code, message);
    const ran = await (await load(parsed.command))(ctx, parsed.args);
    const changes = parsed.writes ? withChanges(ctx, ran) : ran;
    const result = { ...changes, data: { schema: schemaId(parsed.command), ...changes.data } };
    render(ctx, result, notes);
    if (logged && result.code === Exit.actionNeeded) logOutcome(ctx.sys, ctx.run ?? "", parsed.command, result.code, result.problems ?? [], ctx.now());
    await after?.(result.code, result.code === 0 ? undefined : result.problems?.[0]);
    return result.code;
  } catch (caught) {
    if (!(caught instanceof UserError) && process.env.MAKEFILECHECK_DEBUG) printError(caught instanceof Error ? (caught.stack ?? caught.message) : String(caught));
    const err = caught instanceof UserError ? caught : internalError(caught);
    printError(err.message);
    // Bad input (exit 2) changes nothing, not even the log: the admin has its line on the terminal.
    if (logged && err.code !== Exit.badInput) logOutcome(logged.ctx.sys, logged.ctx.run ?? "", logged.command, err.code, [err.message], logged.ctx.now());
    if (json) printErrorDocument({ exit: err.code, kind: err.name, ...partsOf(err.message) }, notes);
    await after?.(err.code, err.message);
    return err.code;
  }
}
