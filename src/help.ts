/**
 * --help, worded from the command table in src/args.ts: the overview with
 * every command, or one command with its options and examples.
 */
import { COMMANDS, GLOBAL_OPTIONS } from "./args.js";
import type { CommandName, CommandSpec, OptionSpec } from "./args.js";

const ABOUT = "Keeps Sympl's exim4 and dovecot snippet trees switched, repaired and in step with upstream, and installs the email changes.";

/** The exit codes as --help states them. */
export const EXIT_CODES =
  "Exit codes: 0 done or clean; 1 action needed; 2 bad usage or input, nothing changed; 3 environment unusable (missing tree, permission denied, lock held), nothing changed; 70 internal error (a bug: run again with MAKEFILECHECK_DEBUG=1 and report it).";

/** The commands whose first example the overview shows: the main job, in order. */
const OVERVIEW_EXAMPLES: CommandName[] = ["status", "install", "repair", "drift", "sync", "hooks"];

/** How an option is written in help: `-a, --app APP`, `--no-check`. */
function optionLabel(name: string, o: OptionSpec): string {
  const long = o.type === "flag" ? (o.shown ?? `--${name}`) : `--${name} ${o.placeholder}`;
  return o.short ? `-${o.short}, ${long}` : `    ${long}`;
}

/** Word-wraps `text` to `width`, every line after the first indented by `indent`. */
function wrap(text: string, width: number, indent: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width - indent) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join(`\n${" ".repeat(indent)}`);
}

/** Rows of `label  text`, the texts in one column. */
function table(rows: Array<[string, string]>, width: number): string[] {
  const column = Math.min(Math.max(...rows.map(([l]) => l.length)) + 4, 44);
  return rows.map(([label, text]) => {
    const head = `  ${label}`;
    const pad = head.length + 2 > column ? `\n${" ".repeat(column)}` : " ".repeat(column - head.length);
    return `${head}${pad}${wrap(text, width, column)}`;
  });
}

/** The command as written in a usage line: `use MODE`, `diff [PATH]`. */
function usageOf(name: CommandName): string {
  const p = (COMMANDS[name] as CommandSpec).positional;
  return p ? `${name} ${p.required ? p.placeholder : `[${p.placeholder}]`}` : name;
}

function optionRows(options: Record<string, OptionSpec>): Array<[string, string]> {
  return Object.entries(options).map(([name, o]) => [optionLabel(name, o), o.describe]);
}

/** The text of `makefilecheck --help`, or of `makefilecheck COMMAND --help`. */
export function helpText(command: CommandName | null, width = 80): string {
  const out: string[] = [];
  if (command === null) {
    out.push("Usage: makefilecheck [COMMAND] [OPTIONS]", "", wrap(ABOUT, width, 0), "", "Commands:");
    out.push(...table((Object.keys(COMMANDS) as CommandName[]).map((n) => [usageOf(n), COMMANDS[n].summary]), width));
    out.push("", "Options of every command:", ...table(optionRows(GLOBAL_OPTIONS), width));
    out.push("", "Examples:", ...table(OVERVIEW_EXAMPLES.map((n) => (COMMANDS[n] as CommandSpec).examples[0]!), width));
    out.push("", "`makefilecheck COMMAND --help` shows a command's own options and examples.");
  } else {
    const spec: CommandSpec = COMMANDS[command];
    out.push(`Usage: makefilecheck ${usageOf(command)} [OPTIONS]`, "", wrap(`${spec.summary[0]!.toUpperCase()}${spec.summary.slice(1)}.`, width, 0));
    if (spec.positional) out.push("", "Arguments:", ...table([[spec.positional.placeholder, spec.positional.describe]], width));
    if (Object.keys(spec.options).length) out.push("", "Options:", ...table(optionRows(spec.options), width));
    out.push("", "Options of every command:", ...table(optionRows(GLOBAL_OPTIONS), width));
    out.push("", "Examples:", ...table(spec.examples, width));
  }
  out.push("", wrap(EXIT_CODES, width, 0));
  return `${out.join("\n")}\n`;
}
