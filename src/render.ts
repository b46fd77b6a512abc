/**
 * The one place that prints. Human lines go to stdout, notes and errors to
 * stderr; --json prints one document with the `{"apps":[...]}` shape.
 */
import type { CommandResult, Context } from "./context.js";
import type { ProblemParts } from "./errors.js";
import { schemaId } from "./json-contract.js";
import { describeOp, opToJson, shownSteps, summarizePlan } from "./plan.js";

/** Readers of the output told when it goes away (watch stops). */
const goneListeners = new Set<() => void>();
/** Streams whose failed writes are watched, and those whose reader went away (what is still written to them is dropped). */
const watched = new Set<NodeJS.WriteStream>();
const gone = new Set<NodeJS.WriteStream>();

/**
 * Writes `text` to `stream`. A reader that went away (EPIPE: `makefilecheck
 * status | head -1`, a closed terminal) is no error: the rest of the
 * output is dropped, with no stack trace, and the command ends with its
 * own exit code.
 */
function write(stream: NodeJS.WriteStream, text: string): void {
  if (gone.has(stream)) return;
  if (!watched.has(stream)) {
    watched.add(stream);
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE") throw err;
      gone.add(stream);
      for (const listener of goneListeners) listener();
    });
  }
  stream.write(text);
}

/**
 * Calls `listener` when a reader of the output goes away; returns the
 * call that stops listening.
 */
export function onReaderGone(listener: () => void): () => void {
  goneListeners.add(listener);
  return () => goneListeners.delete(listener);
}

/** Where the text goes; tests replace these two to read it. */
export const output = {
  out: (text: string): void => write(process.stdout, text),
  err: (text: string): void => write(process.stderr, text),
};

/** True when standard output is a terminal. */
export function stdoutIsTerminal(): boolean {
  return process.stdout.isTTY === true;
}

/** The terminal's width in columns, for --help; 80 off a terminal. */
export function terminalColumns(): number {
  return (stdoutIsTerminal() && process.stdout.columns) || 80;
}

/**
 * Whether human output is coloured: not under --no-color, not when the
 * NO_COLOR variable is set to anything (no-color.org), and only on a
 * terminal, so a pipe, a file, cron mail and journald get plain text.
 */
export function wantsColor(flag: boolean, env: NodeJS.ProcessEnv, isTerminal: () => boolean): boolean {
  return flag && !env.NO_COLOR && isTerminal();
}

const RED = "\x1b[1;31m";
const GREEN = "\x1b[32m";
const YELLOW = "\x1b[33m";
const RESET = "\x1b[0m";

/**
 * What is coloured, matched on the worded lines so that commands stay free
 * of terminal codes: words that need the admin in red, states that ask for
 * a step in yellow, all-well in green.
 */
const PAINT: Array<[RegExp, string]> = [
  [/\b(CONFLICT|FAILED|fatal|damage:|problem:)(?=\s|$|\b)/g, RED],
  [/^(\S+: )(unclear|vanilla|caninstall)\b/g, YELLOW],
  [/^(\S+: )(local|sympl)(?= \()/g, GREEN],
  [/^( {2}next: )(nothing to do)$/g, GREEN],
  [/^( {2}next: )(?!\x1b)(.+)$/g, YELLOW],
  [/^( {2,4})(UU|!!)(?= )/g, RED],
];

/** `line` with its status words coloured for a terminal. */
export function paint(line: string): string {
  let out = line;
  for (const [pattern, colour] of PAINT) {
    out = out.replace(pattern, (...m: string[]) => {
      // With a leading group, colour only the word after it.
      const groups = m.slice(1, -2).filter((g) => typeof g === "string");
      return groups.length === 2 ? `${groups[0]}${colour}${groups[1]}${RESET}` : `${colour}${m[0]}${RESET}`;
    });
  }
  return out;
}

/**
 * Prints a command's result the way the options ask; under --json the
 * run's `notes` (said on stderr otherwise) are a field of the document.
 */
export function render(ctx: Pick<Context, "json" | "quiet" | "dryRun" | "color" | "verbose">, result: CommandResult, notes: string[] = []): void {
  if (result.streamed) return;
  if (ctx.json) {
    const doc: Record<string, unknown> = { ...result.data, apps: result.apps };
    if (result.plan) doc.plan = shownSteps(result.plan).map(opToJson);
    if (ctx.dryRun) doc.dryRun = true;
    if (notes.length) doc.notes = notes;
    output.out(`${JSON.stringify(doc, null, 2)}\n`);
    return;
  }
  if (result.summary) printNote(result.summary);
  if (ctx.quiet) {
    for (const line of result.problems ?? []) printNote(line);
    return;
  }
  const out: string[] = [];
  if (ctx.dryRun && result.plan && !ctx.verbose) out.push(...summarizePlan(result.plan));
  else if (ctx.dryRun && result.plan) {
    const steps = shownSteps(result.plan);
    out.push(steps.length ? "dry run: would do these steps:" : "dry run: nothing to do");
    out.push(...steps.map((op) => `  ${describeOp(op)}`));
  }
  out.push(...result.lines);
  if (out.length) output.out(`${(ctx.color ? out.map(paint) : out).join("\n")}\n`);
}

/** One line of a long-running command's output; `text` is the human wording. */
export type StreamLine = { time: string; text: string } & Record<string, unknown>;

/**
 * Prints one line at once, for a command that runs until stopped (watch):
 * `TIME text` for people and journald, or one JSON object per line.
 */
export function printStreamLine(json: boolean, line: StreamLine, color = false): void {
  const text = color ? paint(line.text) : line.text;
  output.out(json ? `${JSON.stringify({ schema: schemaId("watch"), ...line })}\n` : `${line.time} ${text}\n`);
}

/** Prints --help. */
export function printHelp(text: string): void {
  output.out(text);
}

/** Prints one line to stderr. */
export function printNote(line: string): void {
  output.err(`${line}\n`);
}

/**
 * Under --json, an error as the one document on stdout, with the parts of
 * its stderr line: `{"error":{"exit":2,"kind":…,"path":…,"message":…,"fix":…}}`.
 * The kind (the error class) tells a parent reading it (the watcher) a busy
 * lock from other refusals. What the run noted before it failed goes along.
 */
export function printErrorDocument(error: { exit: number; kind: string } & ProblemParts, notes: string[] = []): void {
  const schema = schemaId("error");
  output.out(`${JSON.stringify(notes.length ? { schema, error, notes } : { schema, error }, null, 2)}\n`);
}

/** Prints a user error as one line. */
export function printError(message: string): void {
  output.err(`makefilecheck: ${message}\n`);
}
