/**
 * `makefilecheck watch`: a foreground watcher that puts the chosen setup
 * back after a Sympl upgrade. It watches each app's sympl.d, the Makefiles
 * beside it and the recorded modes; a burst of writes settles first, then
 * one round runs `repair` and `sync`, each as a child process of the same
 * CLI that takes the run lock itself (the watcher's memory stays that of an
 * idle watcher). What an upgrade left before watching started gets a round
 * at once. It prints one line per action and stops cleanly on SIGINT
 * or SIGTERM, and when the reader of its output has gone.
 */
import { optionsOf } from "../args.js";
import { setFlagsFromString } from "node:v8";
import type { Args, CommandResult, Context } from "../context.js";
import { EnvironmentError, Exit, InputError, LockHeldError, problem } from "../errors.js";
import { appPaths, STATE_DIR } from "../server-layout.js";
import type { App } from "../server-layout.js";
import { repairWanted } from "../makefilecheck/commands.js";
import { recordPath } from "../makefilecheck/state.js";
import { summarizeDrift } from "../sync/drift.js";
import { ownLauncher } from "../system/launcher.js";
import { ControlSnapshot } from "./watch-echo.js";
import { actionLine, line, type Print } from "./watch-lines.js";
import { eventMeaning, isIgnored, isMakefileName, serverPathOf, watchLayout, watchRoots } from "./watch-paths.js";
import type { WatchLayout } from "./watch-paths.js";
import { Rounds } from "./watch-rounds.js";
import { childCommand } from "./watch-spawn.js";
import { onReaderGone, printStreamLine } from "../render.js";
import { childPath, serverPath } from "../paths.js";
import type { HostPath, ServerPath } from "../paths.js";

/**
 * The two commands a round runs: child processes by default (see
 * watch-spawn.ts), stand-ins in tests of the mechanics. Notes go to the
 * ctx.note they are given, which prints them as watch lines.
 */
export interface RoundCommands {
  repair: (ctx: Context, args: Args) => Promise<CommandResult>;
  sync: (ctx: Context, args: Args) => Promise<CommandResult>;
}

/** The debounce the admin asked for, checked. */
function debounceOf(args: Args): number {
  const ms = optionsOf("watch", args).debounce ?? 2000;
  if (!Number.isInteger(ms) || ms < 0 || ms > 3_600_000) {
    throw new InputError(problem(`--debounce ${ms}`, "not a whole number of milliseconds up to an hour", "give 0 to 3600000, e.g. --debounce 2000"));
  }
  return ms;
}

/** The apps that can be watched; a missing /etc/APP is noted and skipped. */
function watchableApps(ctx: Context): App[] {
  const apps = ctx.apps.filter((app) => {
    const p = appPaths(app);
    const ok = ctx.sys.stat(p.dir)?.type === "dir" && ctx.sys.stat(p.upstream)?.type === "dir";
    if (!ok) ctx.note(`${ctx.sys.hostPath(p.upstream)}: not there, ${app} is not watched`);
    return ok;
  });
  if (apps.length === 0) {
    throw new EnvironmentError(problem(ctx.sys.hostPath(serverPath("/etc")), "no app with a sympl.d to watch", "is this a Sympl server? check --root and -a"));
  }
  return apps;
}

/**
 * The apps with work waiting when the watcher starts: a setup that repair
 * would put right, or upstream changes sync has not brought in (an upgrade
 * that came while nothing watched). Events tell only of what changes from
 * now on, so these get a round at once.
 */
async function pendingAtStart(ctx: Context, apps: App[]): Promise<App[]> {
  const pending: App[] = [];
  for (const app of apps) if (repairWanted(ctx.sys, app) || (await summarizeDrift(ctx.sys, app))?.actionNeeded) pending.push(app);
  return pending;
}

/** Every control file there is now: the Makefile variants and the mode records. */
function controlPaths(ctx: Context, apps: App[]): ServerPath[] {
  return apps.flatMap((app) => {
    const dir = appPaths(app).dir;
    // An app dir that vanished (package purged) has no Makefile to look at.
    const names = ctx.sys.stat(dir)?.type === "dir" ? ctx.sys.list(dir) : [];
    const makefiles = names.filter(isMakefileName).map((name) => childPath(dir, name));
    return [...makefiles, recordPath(app)];
  });
}

/**
 * Resolves with the signal's name at the first SIGINT or SIGTERM, or with
 * EPIPE when the reader of the output has gone (`watch | head -3`).
 */
function untilSignal(): { signal: Promise<string>; dispose: () => void } {
  let resolve!: (s: string) => void;
  const signal = new Promise<string>((r) => (resolve = r));
  const onSignal = (s: NodeJS.Signals) => resolve(s);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const stopListening = onReaderGone(() => resolve("EPIPE"));
  return {
    signal,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      stopListening();
    },
  };
}

/**
 * True for the refusal of a run that found another holding the lock (an
 * admin's own `sync`, or the apt hook firing with the same upgrade): worth
 * another round, unlike every other failure.
 */
function lostLockRace(error: unknown): boolean {
  return error instanceof LockHeldError;
}

/**
 * Runs repair then sync for `apps` and prints one line per action, with a
 * line for each note an action gives (the child's stderr). `repaired` runs
 * between the two. Resolves to true when a step lost the lock to another
 * run and the round should be done again.
 */
function roundAction(ctx: Context, args: Args, commands: RoundCommands, print: Print, repaired: (round: number) => void) {
  const globals = { root: args.root, json: ctx.json, quiet: ctx.quiet, "dry-run": ctx.dryRun, color: false, wait: args.wait };
  return async (apps: App[], round: number, paths: number): Promise<boolean> => {
    const step = async (action: "repair" | "sync", run: (sub: Context) => Promise<CommandResult>): Promise<boolean> => {
      const sub: Context = {
        ...ctx,
        apps,
        note: (text) => print(line({ event: "note", action, round, apps, text: `${action}: ${text}` })),
      };
      const started = performance.now();
      const outcome = await run(sub).then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      );
      print(actionLine({ action, apps, round, paths, ms: Math.round(performance.now() - started), dryRun: ctx.dryRun, ...outcome }));
      return "error" in outcome && lostLockRace(outcome.error);
    };
    const repairAgain = await step("repair", (sub) => commands.repair(sub, { ...globals, _: ["repair"] }));
    repaired(round);
    const syncAgain = await step("sync", (sub) => commands.sync(sub, { ...globals, _: ["sync"], adopt: false, make: optionsOf("watch", args).make }));
    return repairAgain || syncAgain;
  };
}

/**
 * Watches until SIGINT or SIGTERM, running `commands` once per settled
 * burst; resolves after the round in flight has finished.
 */
export async function watchWith(ctx: Context, args: Args, commands: RoundCommands): Promise<CommandResult> {
  const debounceMs = debounceOf(args);
  const apps = watchableApps(ctx);
  if (!ctx.dryRun) ctx.sys.mkdir(STATE_DIR, { mode: 0o755 });
  const layout: WatchLayout = watchLayout((p) => ctx.sys.hostPath(p), apps, STATE_DIR, apps.map(recordPath));
  const print: Print = (l) => {
    if (!ctx.quiet || l.loud) printStreamLine(ctx.json, { time: ctx.now().toISOString(), ...l.line }, ctx.color);
  };

  const snapshot = new ControlSnapshot(ctx.sys);
  const failed = (what: string, err: unknown) =>
    print(line({ event: "error", loud: true, text: `FAILED ${what}: ${err instanceof Error ? err.message : String(err)}` }));
  let held: HostPath[] = [];
  const isDir = (hostPath: HostPath) => ctx.sys.stat(serverPathOf(ctx.sys.root, hostPath))?.type === "dir";
  const consider = (hostPath: HostPath): void => {
    const meaning = eventMeaning(layout, hostPath, isDir);
    if (!meaning) return;
    try {
      if (meaning.kind === "control" && !snapshot.changed(serverPathOf(ctx.sys.root, hostPath))) return;
    } catch (err) {
      failed(`reading ${hostPath}`, err); // unreadable: act on it rather than miss a change
    }
    rounds.poke(meaning.apps, hostPath);
  };
  // Only repair writes control files, so the snapshot is taken as soon as it
  // is done, not after sync: a Makefile that dpkg replaces while sync runs
  // (an upgrade can pause longer than the debounce) then differs from it and
  // starts another round instead of passing for repair's own write.
  const recordControls = (round: number) => {
    try {
      snapshot.take(controlPaths(ctx, apps));
    } catch (err) {
      // A watcher that dies on one odd round protects nothing: report and go on.
      failed(`recording the Makefiles after round ${round}`, err);
    }
  };
  const act = roundAction(ctx, args, commands, print, recordControls);
  const rounds = new Rounds(debounceMs, async (roundApps, round, paths) => {
    if (await act(roundApps, round, paths)) rounds.poke(roundApps, "(the run lock was busy: trying again)");
    const late = held;
    held = [];
    late.forEach(consider);
  });

  const signals = untilSignal();
  // Events before the first snapshot have nothing to be compared with: what
  // is there when watching starts is the starting point.
  let ready = false;
  const watcher = await ctx.sys.watchDirs(watchRoots(layout), {
    ignored: (path, entry) => isIgnored(layout, path, entry),
    onChange: (path) => {
      if (!ready) return;
      if (rounds.busy) held.push(path);
      else consider(path);
    },
    onError: (err) => failed("watching", err),
  });
  ready = true;
  snapshot.take(controlPaths(ctx, apps));
  // Looked at once the watch is on, so that nothing falls between the two; said after `ready`.
  const pending = await pendingAtStart(ctx, apps);
  print(line({ event: "ready", apps, debounceMs, text: `watching ${apps.join(", ")}: sympl.d, Makefile*, recorded mode (debounce ${debounceMs} ms)` }));
  if (pending.length) {
    print(line({ event: "pending", apps: pending, text: `${pending.join(", ")}: an upgrade came before watching started (a damage to repair, or upstream changes to sync): acting on it now` }));
    rounds.poke(pending, "(pending when watching started)");
  }

  const signal = await signals.signal;
  const dropped = await rounds.stop();
  await watcher.close();
  signals.dispose();
  const rest = dropped ? "; changes still settling were not acted on (run makefilecheck repair && makefilecheck sync)" : "";
  print(line({ event: "stopped", signal, rounds: rounds.count, text: `stopped by ${signal} after ${rounds.count} round(s)${rest}` }));
  return { code: 0, apps: [], lines: [], streamed: true };
}

/** The watch command: each round's repair and sync run as children of this package's launcher. */
export async function watch(ctx: Context, args: Args): Promise<CommandResult> {
  // The watcher lives for weeks. Each burst's allocations (chokidar's events,
  // the children's JSON) make V8 grow its young generation up to 16 MiB,
  // which it then keeps; at its starting size, the memory a burst took goes
  // back once the watcher is idle again. V8 reads this flag at each growth
  // decision, so setting it now, after start-up, takes effect.
  setFlagsFromString("--semi-space-growth-factor=1");
  const launcher = ownLauncher();
  if (!launcher) {
    throw new EnvironmentError(problem("bin/makefilecheck", "not found beside the running makefilecheck", "reinstall makefilecheck (npm install -g)"));
  }
  return watchWith(ctx, args, { repair: repairIfWanted(childCommand(launcher, "repair")), sync: childCommand(launcher, "sync") });
}

/**
 * Most rounds follow upstream snippet writes only: asking the profile
 * in-process is cheap, while a repair child that finds nothing to do costs
 * a process start-up on every round's latency.
 */
function repairIfWanted(repairChild: RoundCommands["repair"]): RoundCommands["repair"] {
  return async (ctx, args) => {
    if (ctx.apps.some((app) => repairWanted(ctx.sys, app))) return repairChild(ctx, args);
    return { code: Exit.ok, apps: ctx.apps.map((app) => ({ app, changed: false })), lines: ctx.apps.map((app) => `${app}: nothing to repair`) };
  };
}
