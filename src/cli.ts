/**
 * Command-line wiring: parse with yargs, build the System stack the command
 * may use, lazy-load and run the command, render its result, and turn every
 * error into one line and an exit code. Nothing else prints.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Argv } from "yargs";
import { JSON_NOTES_ENV } from "./context.js";
import type { Args, CommandResult, Context } from "./context.js";
import { Exit, InputError, UserError, problem } from "./errors.js";
import type { ExitCode } from "./errors.js";
import { APPS, isApp } from "./server-layout.js";
import type { App } from "./server-layout.js";
import { endQuietlyWhenReaderGoes, printError, printNote, render } from "./render.js";
import { RealSystem } from "./system/real.js";
import { DryRunSystem, ReadOnlySystem } from "./system/wrappers.js";

/** A command as src/cli.ts runs it. */
type Command = (ctx: Context, args: Args) => Promise<CommandResult>;

/**
 * Each command's module, imported only when that command runs: loading
 * every module up front would cost `status` its start-up budget. Both the
 * yargs parser and the fast path take their commands from here.
 */
const LOAD = {
  status: async () => (await import("./makefilecheck/commands.js")).status,
  report: async () => (await import("./makefilecheck/commands.js")).report,
  use: async () => (await import("./makefilecheck/commands.js")).use,
  repair: async () => (await import("./makefilecheck/commands.js")).repair,
  revert: async () => (await import("./makefilecheck/commands.js")).revert,
  check: async () => (await import("./makefilecheck/commands.js")).check,
  drift: async () => (await import("./sync/drift-command.js")).drift,
  diff: async () => (await import("./sync/commands.js")).diff,
  sync: async () => (await import("./sync/commands.js")).sync,
  install: async () => (await import("./changes/commands.js")).install,
  changes: async () => (await import("./changes/commands.js")).changes,
  watch: async () => (await import("./upgrade/watch.js")).watch,
  hooks: async () => (await import("./upgrade/hooks.js")).hooks,
} satisfies Record<string, () => Promise<Command>>;

interface Chosen {
  name: string;
  args: Args;
  /** Whether this invocation may write (decides the System stack). */
  writes: boolean;
  run: Command;
}

const EXAMPLES: Array<[string, string]> = [
  ["makefilecheck", "show which tree each app builds from and what to do next"],
  ["makefilecheck use local", "build exim4 and dovecot from sympl-local.d"],
  ["makefilecheck repair --dry-run", "show how an upgrade-damaged setup would be put right"],
  ["makefilecheck drift -a exim4", "list snippets where sympl-local.d and sympl.d have moved apart"],
  ["makefilecheck sync", "bring upstream changes into sympl-local.d, keeping local edits"],
  ["makefilecheck install --only ch3,ch5", "install two of the email changes"],
  ["makefilecheck --root /srv/copy status", "inspect a copy of a server's /etc"],
];

/** The global options, declared once for yargs and for the fast path. */
const GLOBAL_OPTIONS = {
  root: { type: "string", default: "/", describe: "treat DIR as / (inspect or repair a copy)" },
  app: { alias: "a", type: "string", multiple: true, choices: [...APPS], describe: "only this app (repeatable; default both)" },
  json: { type: "boolean", default: false, describe: "print one JSON document" },
  quiet: { alias: "q", type: "boolean", default: false, describe: "print nothing but errors" },
  "dry-run": { type: "boolean", default: false, describe: "show the plan, change nothing" },
  color: { type: "boolean", default: true, describe: "colour human output (--no-color turns it off)" },
} as const;

/** A global option as yargs takes it (yargs collects a repeated option by itself). */
function yargsOption(o: (typeof GLOBAL_OPTIONS)[keyof typeof GLOBAL_OPTIONS]): Record<string, unknown> {
  const { multiple: _, ...rest } = { multiple: false, ...o };
  return { ...rest, global: true };
}

/**
 * Commands the fast path may run: whether they write, and the boolean
 * options of their own it knows. Besides the reading calls, `repair` and
 * `sync` as the watcher's rounds and the upgrade triggers run them, each a
 * process of its own that should not pay for yargs.
 */
const FAST_COMMANDS = new Map<keyof typeof LOAD, { writes: boolean; own: string[] }>([
  ["status", { writes: false, own: [] }],
  ["report", { writes: false, own: [] }],
  ["drift", { writes: false, own: [] }],
  ["repair", { writes: true, own: [] }],
  ["sync", { writes: true, own: ["make"] }],
]);

/**
 * Parses the common calls (FAST_COMMANDS with global options) without
 * loading yargs, whose start-up alone costs more than the whole `status`
 * budget (docs/architecture.md, Budgets). Returns null for anything else,
 * and for anything it would reject: yargs then parses and words the error.
 */
function fastArgs(argv: string[]): Args | null {
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const [name, o] of Object.entries(GLOBAL_OPTIONS)) {
    options[name] = { type: o.type, ...("alias" in o ? { short: o.alias } : {}), ...("multiple" in o ? { multiple: true } : {}) };
  }
  options["no-color"] = { type: "boolean" };
  options.make = { type: "boolean" };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch {
    return null;
  }
  const [command = "status", ...rest] = parsed.positionals;
  const apps = (parsed.values.app as string[] | undefined) ?? [];
  const fast = FAST_COMMANDS.get(command as keyof typeof LOAD);
  if (rest.length || !fast || !apps.every(isApp)) return null;
  if (parsed.values.make !== undefined && !fast.own.includes("make")) return null;
  const args: Args = { _: [command] };
  for (const [name, o] of Object.entries(GLOBAL_OPTIONS)) args[name] = parsed.values[name] ?? ("default" in o ? o.default : undefined);
  if (parsed.values["no-color"]) args.color = false;
  for (const name of fast.own) args[name] = Boolean(parsed.values[name]);
  return args;
}

/** Builds the parser; `choose` receives the command the arguments name. */
function parser(yargs: typeof import("yargs").default, argv: string[], choose: (c: Chosen) => void): Argv {
  const pick = (name: string, load: () => Promise<Command>, writes: (a: Args) => boolean) => async (args: Args) => {
    choose({ name, args, writes: writes(args), run: async (ctx, a) => (await load())(ctx, a) });
  };
  const always = () => true;
  const never = () => false;

  const useCommand = (mode: "local" | "sympl") => async (args: Args) => pick(`use ${mode}`, LOAD.use, always)({ ...args, mode });
  const useOptions = (y: Argv) =>
    y
      .option("check", { type: "boolean", default: true, describe: "run the daemon's config test first (--no-check skips it)" })
      .option("make", { type: "boolean", default: false, describe: "rebuild the config with make (restarts the daemon)" });

  return yargs(argv)
    .scriptName("makefilecheck")
    .usage("$0 [command] [options]\n\nManage Sympl's exim4 and dovecot snippet trees: which one is live, keeping sympl-local.d in step with sympl.d, and the email changes.")
    .options(Object.fromEntries(Object.entries(GLOBAL_OPTIONS).map(([name, o]) => [name, yargsOption(o)])))
    .command(["status", "$0"], "profile, recorded mode, drift and next step per app", {}, pick("status", LOAD.status, never))
    .command("report", "one APP<TAB>PROFILE line per app (for scripts)", {}, pick("report", LOAD.report, never))
    .command("use <mode>", "make local (sympl-local.d) or sympl (sympl.d) the live tree", (y) =>
      useOptions(y).positional("mode", { choices: ["local", "sympl"] as const, demandOption: true }),
      pick("use", LOAD.use, always))
    .command("local", false, useOptions, useCommand("local"))
    .command("sympl", false, useOptions, useCommand("sympl"))
    .command("repair", "restore the recorded mode after an upgrade damaged the setup", useOptions, pick("repair", LOAD.repair, always))
    .command("revert", "go back to a plain upstream Makefile (keeps sympl-local.d)", (y) =>
      y.option("force", { type: "boolean", default: false, describe: "required: removes Makefile.local and Makefile.sympl" }),
      pick("revert", LOAD.revert, always))
    .command("check", "run the live Makefile's config test with the real daemon", {}, pick("check", LOAD.check, never))
    .command("drift", "three-way state of each snippet, local vs upstream", {}, pick("drift", LOAD.drift, never))
    .command("diff [path]", "unified diff between sympl.d and sympl-local.d", (y) =>
      y.positional("path", { type: "string", describe: "snippet path relative to the tree, e.g. 00-main/50-tls-options" })
        .option("base", { type: "boolean", default: false, describe: "show what upstream changed since the last sync" }),
      pick("diff", LOAD.diff, never))
    .command("sync", "bring upstream changes into sympl-local.d, keeping local edits", (y) =>
      y.option("adopt", { type: "boolean", default: false, describe: "record the current upstream tree as the baseline of an existing sympl-local.d" })
        .option("take-upstream", { type: "string", array: true, describe: "settle PATH by taking the upstream file" })
        .option("keep-local", { type: "string", array: true, describe: "settle PATH by keeping the local file" })
        .option("make", { type: "boolean", default: false, describe: "rebuild the config afterwards" }),
      pick("sync", LOAD.sync, always))
    .command("install", "install the email changes into sympl-local.d, then use local", (y) =>
      y.option("config", { type: "string", describe: "settings file (default ROOT/etc/makefilecheck/Autoinstall.conf)" })
        .option("init", { type: "boolean", default: false, describe: "write a commented default settings file" })
        .option("only", { type: "string", describe: "comma-separated change ids, e.g. ch3,ch5" })
        .option("set", { type: "string", array: true, describe: "KEY=VALUE overriding the settings file" })
        .option("check", { type: "boolean", default: true, describe: "run the config test before going live" })
        .option("make", { type: "boolean", default: false, describe: "rebuild the config with make" }),
      pick("install", LOAD.install, always))
    .command("changes", "list ch1-ch14 and their state on this machine", (y) =>
      y.option("config", { type: "string", describe: "settings file" }),
      pick("changes", LOAD.changes, never))
    .command("watch", "foreground watcher: repair and sync after upgrades", (y) =>
      y.option("debounce", { type: "number", default: 2000, describe: "ms of quiet before acting on a burst of writes" })
        .option("make", { type: "boolean", default: false, describe: "rebuild the config after each sync" }),
      pick("watch", LOAD.watch, always))
    .command("hooks", "print, install or remove the apt and systemd upgrade triggers", (y) =>
      y.option("install", { type: "boolean", describe: "write the trigger files" })
        .option("remove", { type: "boolean", describe: "remove the trigger files" })
        .option("only", { type: "string", choices: ["apt", "systemd"], describe: "only the apt hook or only the systemd units" })
        .option("bin", { type: "string", describe: "absolute path of makefilecheck to write into the files (default: where this one is installed)" })
        .option("make", { type: "boolean", default: false, describe: "the triggers also rebuild the config (sync --make)" })
        .conflicts("install", "remove"),
      pick("hooks", LOAD.hooks, (a) => Boolean(a.install || a.remove)))
    .example(EXAMPLES)
    .epilogue("Exit codes: 0 done or clean, 1 action needed, 2 bad usage or input, 3 environment unusable.")
    .strict()
    .recommendCommands()
    .help()
    .alias("h", "help")
    .version(false)
    .wrap(Math.min(100, process.stdout.columns || 80))
    .exitProcess(false)
    .fail((msg, err) => {
      // yargs words some errors over several lines; the contract is one line.
      throw err ?? new InputError(`${msg.replace(/\s*\n\s*/g, " ")} — see makefilecheck --help`);
    });
}

/** Checks --root and the app list, and builds the Context for one command. */
function makeContext(chosen: Chosen): Context {
  const a = chosen.args;
  const root = resolve(String(a.root ?? "/"));
  const rootEntry = new RealSystem("/").stat(root);
  if (rootEntry?.type !== "dir") {
    const what = rootEntry ? `is a ${rootEntry.type === "link" ? "symlink" : rootEntry.type}, not a directory` : "no such directory";
    throw new InputError(problem(`--root ${root}`, what, "give the directory itself that stands for /"));
  }
  const real = new RealSystem(root);
  const dryRun = Boolean(a["dry-run"]);
  const sys = !chosen.writes ? new ReadOnlySystem(real) : dryRun ? new DryRunSystem(real) : real;
  // yargs gives a repeated -a as an array, a single one as a string.
  const given = ([] as App[]).concat((a.app as App | App[] | undefined) ?? []);
  const apps = given.length ? given : [...APPS];
  const json = Boolean(a.json);
  const quiet = Boolean(a.quiet);
  return {
    sys,
    apps: APPS.filter((app) => apps.includes(app)),
    json,
    quiet,
    dryRun,
    color: Boolean(a.color) && !process.env.NO_COLOR && Boolean(process.stdout.isTTY),
    note: (line) => {
      // A parent reading the --json document (the watcher's rounds) asks for the notes too.
      if (!quiet && (!json || process.env[JSON_NOTES_ENV] === "1")) printNote(line);
    },
  };
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<ExitCode> {
  endQuietlyWhenReaderGoes();
  let chosen: Chosen | undefined;
  try {
    const fast = fastArgs(argv);
    if (fast) {
      const name = String(fast._[0]) as keyof typeof LOAD;
      chosen = { name, args: fast, writes: FAST_COMMANDS.get(name)?.writes ?? false, run: await LOAD[name]() };
    } else {
      const { default: yargs } = await import("yargs");
      await parser(yargs, argv, (c) => {
        chosen = c;
      }).parseAsync();
    }
    if (!chosen) return Exit.ok; // --help was shown
    const ctx = makeContext(chosen);
    const result = await chosen.run(ctx, chosen.args);
    render(ctx, result);
    return result.code;
  } catch (err) {
    if (err instanceof UserError) {
      printError(err.message);
      return err.code;
    }
    const e = err as Error;
    if (process.env.MAKEFILECHECK_DEBUG) printError(e.stack ?? String(e));
    else printError(`internal error: ${e.message ?? String(e)} (set MAKEFILECHECK_DEBUG=1 for details)`);
    return Exit.environment;
  }
}
