/**
 * The command line as data: every command, its options (one wording per
 * option wherever it appears) and its examples. --help is worded from it
 * (src/help.ts), Node's util.parseArgs, which reads every call, is
 * configured from it, and it words every refusal, so the admin reads one
 * voice.
 */
import { parseArgs } from "node:util";
import type { Args } from "./context.js";
import { InputError, problem } from "./errors.js";
import { APPS } from "./server-layout.js";
import type { Mode } from "./server-layout.js";

/** An option without a value; `negatable` also accepts `--no-NAME`. */
interface FlagSpec {
  type: "flag";
  describe: string;
  short?: string;
  default?: boolean;
  negatable?: boolean;
  /** How --help shows it when it differs from `--NAME` (e.g. `--no-check`). */
  shown?: string;
}

/** An option that takes a value, shown as `--NAME PLACEHOLDER`. */
interface ValueSpec {
  type: "value";
  placeholder: string;
  describe: string;
  short?: string;
  default?: string;
  /** Given more than once, the values are collected (the command sees an array). */
  repeat?: boolean;
  choices?: readonly string[];
  /** A whole number, e.g. milliseconds. */
  integer?: boolean;
  /** The least whole number it takes. */
  min?: number;
}

/** One option of the command line. */
export type OptionSpec = FlagSpec | ValueSpec;

/** The positional argument of a command, if it takes one. */
interface PositionalSpec {
  name: string;
  placeholder: string;
  describe: string;
  required: boolean;
  choices?: readonly string[];
}

/** One command: its help, its own options, and whether a run of it writes. */
export interface CommandSpec {
  summary: string;
  positional?: PositionalSpec;
  options: Record<string, OptionSpec>;
  /** Whether this invocation may write (decides the System stack). */
  writes: (args: Args) => boolean;
  /** `[command line, what it does]`, one or two. */
  examples: Array<[string, string]>;
}

const flag = (describe: string, more: Partial<FlagSpec> = {}): FlagSpec => ({ type: "flag", describe, ...more });

/** Options every command takes. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  root: { type: "value", placeholder: "DIR", default: "/", describe: "treat DIR as / (inspect or repair a copy of a server)" },
  app: { type: "value", short: "a", placeholder: "APP", repeat: true, choices: APPS, describe: "only this app, exim4 or dovecot (repeatable; default both)" },
  json: flag("print one JSON document on stdout, errors too"),
  quiet: flag("print nothing when all is well; problems still go to stderr", { short: "q" }),
  verbose: flag("list every step of the plan a dry run shows (by default a summary, with like steps counted on one line)"),
  color: flag("no colours (also when NO_COLOR is set or stdout is not a terminal)", { default: true, negatable: true, shown: "--no-color" }),
  help: flag("show this help", { short: "h" }),
  version: flag("print the version of makefilecheck"),
};

// Shared options, so that one option reads the same under every command.
const DRY_RUN = flag("print the plan, change nothing");
const WAIT: ValueSpec = {
  type: "value",
  placeholder: "SECONDS",
  describe: "how long to wait for another run's lock before giving up with exit 3 (default 3; the upgrade triggers and the watcher's runs wait 90)",
};
const CHECK = flag("skip the daemon's config test (by default it runs before anything goes live)", { default: true, negatable: true, shown: "--no-check" });
const MAKE = flag(
  "also rebuild the built config: `make APP.conf` in /etc/APP tests and builds it, not restarting the daemon; sync and watch rebuild only when it is not the live tree's (a hand-edited one is saved first), then reload a running daemon (`invoke-rc.d APP reload`, with --root / only)",
);
const KEEP_RUNS: ValueSpec = { type: "value", placeholder: "N", integer: true, min: 1, describe: "saved copies: keep the last N runs per app, however old (default 20)" };
const KEEP_DAYS: ValueSpec = {
  type: "value",
  placeholder: "DAYS",
  integer: true,
  min: 0,
  describe: "saved copies: keep every run of the last DAYS days (default 90); older runs beyond --keep-runs are pruned when the run ends",
};
/** The triggers (hooks, watch) rebuild by default: the changes must stay in force after an upgrade. */
const TRIGGER_MAKE = flag("leave out the rebuild after an upgrade: the built config is not remade and the daemon not reloaded", {
  default: true,
  negatable: true,
  shown: "--no-make",
});
const CONFIG: ValueSpec = { type: "value", placeholder: "FILE", describe: "settings file (default ROOT/etc/makefilecheck/Autoinstall.conf)" };
const SETTLE = (how: string): ValueSpec => ({ type: "value", placeholder: "PATH", repeat: true, describe: `settle the snippet PATH (a conflict, or ?? in drift) by ${how} (repeatable)` });

const always = () => true;
const never = () => false;

/** Every command; the old spellings `local` and `sympl` are handled by the parser. */
export const COMMANDS = {
  status: {
    summary: "per app: which tree is live, the recorded mode, drift, and the next command to run (the default)",
    options: {},
    writes: never,
    examples: [
      ["makefilecheck", "what is live, what is wrong, what to do next"],
      ["makefilecheck --root /srv/copy status --json", "the same for a copy of a server's /etc, as JSON"],
    ],
  },
  report: {
    summary: "one APP<TAB>PROFILE line per app, for scripts",
    options: {},
    writes: never,
    examples: [["makefilecheck report -a exim4", "prints e.g. `exim4<TAB>local`"]],
  },
  use: {
    summary: "make sympl-local.d (local) or sympl.d (sympl) the tree the daemon builds from",
    positional: { name: "mode", placeholder: "MODE", describe: "local (sympl-local.d) or sympl (sympl.d)", required: true, choices: ["local", "sympl"] },
    options: { check: CHECK, make: MAKE, "keep-runs": KEEP_RUNS, "keep-days": KEEP_DAYS, "dry-run": DRY_RUN, wait: WAIT },
    writes: always,
    examples: [
      ["makefilecheck use local --dry-run", "what switching both apps to sympl-local.d would change"],
      ["makefilecheck use sympl -a dovecot", "build dovecot from the upstream tree again"],
    ],
  },
  repair: {
    summary: "put the recorded mode back after an upgrade damaged the setup",
    options: { check: CHECK, make: MAKE, "keep-runs": KEEP_RUNS, "keep-days": KEEP_DAYS, "dry-run": DRY_RUN, wait: WAIT },
    writes: always,
    examples: [
      ["makefilecheck repair --dry-run", "what an upgrade damaged and how it would be put right"],
      ["makefilecheck repair -q", "as the upgrade triggers run it: silent unless something is wrong"],
    ],
  },
  revert: {
    summary: "back to a plain upstream Makefile: removes Makefile.local and Makefile.sympl, keeps sympl-local.d",
    options: { force: flag("required: confirms removing Makefile.local and Makefile.sympl"), "dry-run": DRY_RUN, wait: WAIT },
    writes: always,
    examples: [["makefilecheck revert --force --dry-run", "what reverting would remove"]],
  },
  check: {
    summary: "run the live tree's config test with the real daemon (exim4 -bV, dovecot -a)",
    options: {},
    writes: never,
    examples: [["makefilecheck check -a exim4", "does exim accept the config the live Makefile builds?"]],
  },
  drift: {
    summary: "three-way state of each snippet: sympl-local.d, sympl.d and the last sync",
    options: {},
    writes: never,
    examples: [
      ["makefilecheck drift -a exim4", "which exim4 snippets moved apart, like `git status --short`"],
      ["makefilecheck drift --json", "the same as JSON, for scripts"],
    ],
  },
  diff: {
    summary: "unified diff of snippets between sympl.d and sympl-local.d",
    positional: { name: "path", placeholder: "PATH", describe: "one snippet, relative to the tree, e.g. 00-main/50-tls-options (default: every one that differs)", required: false },
    options: { base: flag("show what upstream changed since the last sync instead") },
    writes: never,
    examples: [
      ["makefilecheck diff -a exim4 00-main/50-tls-options", "how your copy of one snippet differs from upstream"],
      ["makefilecheck diff --base", "what the last upgrade changed upstream"],
    ],
  },
  sync: {
    summary: "bring upstream changes into sympl-local.d, keeping local edits",
    options: {
      adopt: flag("record the current upstream tree as the baseline of an existing sympl-local.d"),
      "take-upstream": SETTLE("taking the upstream file"),
      "keep-local": SETTLE("keeping your file"),
      make: MAKE,
      trigger: flag(
        "run as the package's dpkg trigger does: nothing unless `hooks --install` enabled the triggers and a local tree is chosen; then repair, sync, rebuild and reload, one summary line even under -q, and mail root when a person is needed",
      ),
      "keep-runs": KEEP_RUNS,
      "keep-days": KEEP_DAYS,
      "dry-run": DRY_RUN,
      wait: WAIT,
    },
    writes: always,
    examples: [
      ["makefilecheck sync --dry-run", "what sync would change, changing nothing"],
      ["makefilecheck sync -a exim4 --keep-local 00-main/50-tls-options", "settle a conflict by keeping your file"],
    ],
  },
  install: {
    summary: "install the email changes into sympl-local.d, then use local",
    options: {
      init: flag("write a commented settings file to edit first"),
      config: CONFIG,
      only: { type: "value", placeholder: "IDS", describe: "only these changes, comma-separated, e.g. ch3,ch5" },
      set: {
        type: "value",
        placeholder: "KEY=VALUE",
        repeat: true,
        describe: "override one setting of the settings file (repeatable); not for AUTO_SPAMHAUS_DB_KEY: any user can read a command line, so the key goes in the settings file (mode 0600) or through --set-from-file",
      },
      "set-from-file": {
        type: "value",
        placeholder: "NAME=PATH",
        repeat: true,
        describe: "override one setting with the text of the file PATH (its last line end dropped), `-` for standard input: how to pass AUTO_SPAMHAUS_DB_KEY (repeatable)",
      },
      check: CHECK,
      make: MAKE,
      "keep-runs": KEEP_RUNS,
      "keep-days": KEEP_DAYS,
      "dry-run": DRY_RUN,
      wait: WAIT,
    },
    writes: always,
    examples: [
      ["makefilecheck install --init", "write /etc/makefilecheck/Autoinstall.conf to edit before installing"],
      ["makefilecheck install --set-from-file AUTO_SPAMHAUS_DB_KEY=- < key.txt", "install with the Spamhaus key read from standard input, never on the command line"],
    ],
  },
  changes: {
    summary: "ch1–ch14 and whether each is installed here",
    options: { config: CONFIG },
    writes: never,
    examples: [["makefilecheck changes", "the table of changes, their state and settings"]],
  },
  watch: {
    summary: "foreground watcher: repair, sync and rebuild after every upgrade",
    options: {
      debounce: { type: "value", placeholder: "MS", integer: true, describe: "milliseconds of quiet before acting on a burst of writes (default 2000)" },
      make: TRIGGER_MAKE,
      "dry-run": DRY_RUN,
      wait: WAIT,
    },
    writes: always,
    examples: [
      ["makefilecheck watch", "repair, sync and put the changes back in force after each upgrade, until Ctrl-C"],
      ["makefilecheck watch --no-make", "repair and sync only; rebuild by hand"],
    ],
  },
  hooks: {
    summary: "print, install or remove the upgrade triggers (the package's dpkg trigger, else the apt hook)",
    options: {
      install: flag("write the trigger files"),
      remove: flag("remove the trigger files makefilecheck wrote"),
      only: { type: "value", placeholder: "KIND", choices: ["apt", "systemd", "dpkg"], describe: "one route: the apt hook, the systemd path unit, or the package's dpkg trigger (default for --install: the dpkg trigger under the Debian package, else the apt hook)" },
      bin: { type: "value", placeholder: "PATH", describe: "absolute path of makefilecheck the triggers run (default: this one)" },
      make: TRIGGER_MAKE,
      "dry-run": DRY_RUN,
      wait: WAIT,
    },
    writes: (a) => Boolean(a.install || a.remove),
    examples: [
      ["makefilecheck hooks --install", "repair, sync and put the changes back in force after every upgrade"],
      ["makefilecheck hooks --remove", "remove the triggers again"],
    ],
  },
  doctor: {
    summary: "read-only checks of what the installed changes need from this server (firewall database, resolver, blacklists, triggers, leftovers)",
    options: {
      "ptr-for": { type: "value", placeholder: "ADDRESS", describe: "the address whose PTR record the resolver check asks for (default 8.8.8.8, which always has one)" },
    },
    writes: never,
    examples: [
      ["makefilecheck doctor", "every check that applies, with a fix for each problem"],
      ["makefilecheck doctor -a exim4 --json", "exim's checks only, as JSON"],
    ],
  },
  monitor: {
    summary: "for Nagios, Icinga and Prometheus: one line with perfdata and exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the worst state found)",
    options: {
      prometheus: { type: "value", placeholder: "DIR", describe: "also write DIR/makefilecheck.prom for node exporter's textfile collector (Debian: /var/lib/prometheus/node-exporter)" },
    },
    writes: never,
    examples: [
      ["makefilecheck monitor", "as a Nagios or Icinga check: e.g. `MAKEFILECHECK OK - exim4, dovecot: changes in force, ...`"],
      ["makefilecheck monitor --prometheus /var/lib/prometheus/node-exporter", "the same, and the metrics for node exporter"],
    ],
  },
} satisfies Record<string, CommandSpec>;

/** A command's name. */
export type CommandName = keyof typeof COMMANDS;

/**
 * The options each command reads, typed as the table above gives them
 * (every default filled in by optionsOf), so no command casts a value.
 */
export interface CommandOptions {
  status: Record<string, never>;
  report: Record<string, never>;
  use: { mode: Mode; check: boolean; make: boolean };
  repair: { check: boolean; make: boolean };
  revert: { force: boolean };
  check: Record<string, never>;
  drift: Record<string, never>;
  diff: { path: string | undefined; base: boolean };
  sync: { adopt: boolean; "take-upstream": string[]; "keep-local": string[]; make: boolean; trigger: boolean };
  install: { init: boolean; config: string | undefined; only: string | undefined; set: string[]; "set-from-file": string[]; check: boolean; make: boolean };
  changes: { config: string | undefined };
  watch: { debounce: number | undefined; make: boolean };
  hooks: { install: boolean; remove: boolean; only: "apt" | "systemd" | "dpkg" | undefined; bin: string | undefined; make: boolean };
  doctor: { "ptr-for": string | undefined };
  monitor: { prometheus: string | undefined };
}

/**
 * `command`'s options out of `args`: what the parser gave, the table's
 * default for what it did not (a test may pass only what it sets). The one
 * cast is here: the parser checked every value against the table.
 */
export function optionsOf<C extends CommandName>(command: C, args: Args): CommandOptions[C] {
  const spec: CommandSpec = COMMANDS[command];
  const out: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(spec.options)) {
    if (["dry-run", "wait", "keep-runs", "keep-days"].includes(name)) continue; // the Context carries these
    out[name] = args[name] !== undefined ? args[name] : o.type === "flag" ? (o.default ?? false) : o.repeat ? [] : o.default;
  }
  if (spec.positional) out[spec.positional.name] = args[spec.positional.name];
  return out as CommandOptions[C];
}

/** Old spellings of the tool this one replaced: `local` is `use local`. */
const OLD_SPELLINGS: Record<string, string> = { local: "local", sympl: "sympl" };

/** What the command line asks for. */
export type Parsed =
  | { kind: "run"; command: CommandName; args: Args; writes: boolean }
  | { kind: "help"; command: CommandName | null }
  | { kind: "version" };

function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/** The spec of `name` for `command`, global options included. */
function optionOf(command: CommandName, name: string): OptionSpec | undefined {
  const own: Record<string, OptionSpec> = COMMANDS[command].options;
  return Object.hasOwn(own, name) ? own[name] : Object.hasOwn(GLOBAL_OPTIONS, name) ? GLOBAL_OPTIONS[name] : undefined;
}

/**
 * Edit distance allowing a swap of two neighbours (`stauts` is one step
 * from `status`), for did-you-mean.
 */
export function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** `did you mean X? ` for the closest of `names` within two edits, else "". */
function didYouMean(given: string, names: readonly string[], show: (n: string) => string = (n) => n): string {
  const best = names.map((n) => ({ n, d: distance(given, n) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.min(2, Math.max(1, given.length - 2)) ? `did you mean \`${show(best.n)}\`? ` : "";
}

/** `a PATH`, `an APP` */
function article(placeholder: string): string {
  return `${/^[AEIOU]/.test(placeholder) ? "an" : "a"} ${placeholder}`;
}

/** `a, b or c` */
function orList(items: readonly string[]): string {
  return items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
}

/** Which commands take option `name`, for the message that it is not one of this command's. */
function commandsTaking(name: string): string[] {
  return (Object.keys(COMMANDS) as CommandName[]).filter((c) => Object.hasOwn(COMMANDS[c].options, name));
}

/**
 * Every option of every command as parseArgs takes it, so that an option
 * goes anywhere on the line (`--dry-run use sympl`) and the table, not the
 * parser, says which command takes it; `--no-NAME` where NAME is negatable.
 */
function parserOptions(): Record<string, { type: "string" | "boolean"; short?: string }> {
  const out: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  const add = (name: string, o: OptionSpec) => {
    out[name] = { type: o.type === "value" ? "string" : "boolean", ...(o.short ? { short: o.short } : {}) };
    if (o.type === "flag" && o.negatable) out[`no-${name}`] = { type: "boolean" };
  };
  for (const [name, o] of Object.entries(GLOBAL_OPTIONS)) add(name, o);
  for (const c of Object.values(COMMANDS) as CommandSpec[]) for (const [name, o] of Object.entries(c.options)) add(name, o);
  return out;
}

/**
 * Parses `argv` (without node and the script) with util.parseArgs,
 * configured from COMMANDS, then checks it against the table. Not strict:
 * the table refuses what the parser lets through, with the spelling each
 * option was given (its tokens keep it). Every mistake is an InputError
 * worded `WHAT: problem — fix`.
 */
export function parseCommandLine(argv: string[]): Parsed {
  const { tokens } = parseArgs({ args: argv, options: parserOptions(), strict: false, allowPositionals: true, tokens: true });
  const positionals = tokens.flatMap((t) => (t.kind === "positional" ? [t.value] : []));
  const options = tokens.flatMap((t) => (t.kind === "option" ? [t] : []));
  const first = positionals[0];
  if (options.some((t) => t.name === "version")) return { kind: "version" };
  if (first === "help") return { kind: "help", command: positionals[1] !== undefined && isCommand(positionals[1]) ? positionals[1] : null };
  let command: CommandName = "status";
  const rest = positionals.slice(1);
  if (first !== undefined && Object.hasOwn(OLD_SPELLINGS, first)) {
    command = "use";
    rest.unshift(OLD_SPELLINGS[first]!);
  } else if (first !== undefined) {
    if (!isCommand(first)) {
      throw new InputError(problem(first, "unknown command", `${didYouMean(first, Object.keys(COMMANDS))}see makefilecheck --help`));
    }
    command = first;
  }
  if (options.some((t) => t.name === "help")) return { kind: "help", command: first === undefined ? null : command };

  const args: Args = { _: [command] };
  for (const t of options) {
    const negated = t.name.startsWith("no-") && !optionOf(command, t.name) ? t.name.slice(3) : null;
    const name = negated ?? t.name;
    const o = optionOf(command, name);
    if (negated !== null && o?.type === "flag" && !o.negatable) {
      throw new InputError(problem(t.rawName, `not an option of ${command}`, `leave it out: --${name} is off unless given`));
    }
    if (!o || (negated !== null && o.type !== "flag")) throw unknownOption(command, t.rawName, t.name);
    if (o.type === "flag") {
      if (t.inlineValue) throw new InputError(problem(t.rawName, "takes no value", `write ${t.rawName} alone`));
      args[name] = negated === null;
      continue;
    }
    // parseArgs takes the next word as the value even when it is an option: `--keep-local --make`.
    const missing = t.value === undefined || (!t.inlineValue && t.value.startsWith("-") && t.value !== "-");
    args[name] = valueOf(t.rawName, o, missing ? undefined : t.value, args[name]);
  }
  return finish(command, args, rest);
}

/** Defaults, the positional argument and the checks across options, once each option has its value. */
function finish(command: CommandName, args: Args, rest: string[]): Parsed {
  const spec: CommandSpec = COMMANDS[command];
  for (const [name, o] of [...Object.entries(GLOBAL_OPTIONS), ...Object.entries(spec.options)]) {
    if (args[name] === undefined) args[name] = o.type === "flag" ? (o.default ?? false) : o.repeat ? [] : o.default;
  }
  delete args.help;
  positional(command, spec, rest, args);
  if (args.install && args.remove) throw new InputError(problem("--install, --remove", "asked for both", "give one of them"));
  return { kind: "run", command, args, writes: spec.writes(args) };
}

/** The error for an option `command` does not take. */
function unknownOption(command: CommandName, raw: string, name: string): InputError {
  const takers = commandsTaking(name);
  if (takers.length) {
    return new InputError(problem(raw, `not an option of ${command}`, `${orList(takers)} take${takers.length === 1 ? "s" : ""} it; see makefilecheck ${command} --help`));
  }
  const known = [...Object.keys(GLOBAL_OPTIONS), ...Object.keys(COMMANDS[command].options)];
  return new InputError(problem(raw, "unknown option", `${didYouMean(name, known, (n) => `--${n}`)}see makefilecheck ${command} --help`));
}

/** One value of a value option, checked (undefined: none was given); `before` is what earlier occurrences gave. */
function valueOf(name: string, o: ValueSpec, value: string | undefined, before: unknown): unknown {
  if (value === undefined) {
    throw new InputError(problem(name, `needs ${article(o.placeholder)}`, `write ${name} ${o.placeholder}`));
  }
  if (o.choices && !o.choices.includes(value)) {
    throw new InputError(problem(`${name} ${value}`, `not one of ${orList(o.choices)}`, `${didYouMean(value, o.choices)}write ${name} ${o.choices[0]}`));
  }
  if (o.integer && !/^\d+$/.test(value)) {
    throw new InputError(problem(`${name} ${value}`, "not a whole number", `write e.g. ${name} 2000`));
  }
  const parsed = o.integer ? Number(value) : value;
  if (typeof parsed === "number" && o.min !== undefined && parsed < o.min) {
    throw new InputError(problem(`${name} ${value}`, `less than ${o.min}`, `give ${o.min} or more`));
  }
  if (o.repeat) return [...((before as unknown[] | undefined) ?? []), parsed];
  if (before !== undefined) throw new InputError(problem(name, "given twice", "give it once"));
  return parsed;
}

/** Checks the positional arguments of `command` into `args`. */
function positional(command: CommandName, spec: CommandSpec, rest: string[], args: Args): void {
  const p = spec.positional;
  const extra = rest.slice(p ? 1 : 0);
  if (extra.length) {
    const takes = p ? `takes one ${p.placeholder}` : "takes no arguments";
    throw new InputError(problem(extra.join(" "), "unexpected argument", `${command} ${takes}; see makefilecheck ${command} --help`));
  }
  if (!p) return;
  const value = rest[0];
  if (value === undefined) {
    if (p.required) throw new InputError(problem(command, `needs ${article(p.placeholder)}: ${p.describe}`, `e.g. ${spec.examples[0]![0]}`));
    return;
  }
  if (p.choices && !p.choices.includes(value)) {
    throw new InputError(problem(`${command} ${value}`, `unknown ${p.placeholder}`, `${didYouMean(value, p.choices)}give ${p.describe}`));
  }
  args[p.name] = value;
}
