/**
 * The one place that prints. Human lines go to stdout, notes and errors to
 * stderr; --json prints one document with the `{"apps":[...]}` shape.
 */
import type { CommandResult, Context } from "./context.js";
import { describeOp, opToJson } from "./plan.js";

/** Prints a command's result the way the options ask. */
export function render(ctx: Pick<Context, "json" | "quiet" | "dryRun">, result: CommandResult): void {
  if (result.streamed) return;
  if (ctx.json) {
    const doc: Record<string, unknown> = { ...result.data, apps: result.apps };
    if (result.plan) doc.plan = result.plan.map(opToJson);
    if (ctx.dryRun) doc.dryRun = true;
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    return;
  }
  if (ctx.quiet) return;
  const out: string[] = [];
  if (ctx.dryRun && result.plan) {
    out.push(result.plan.length ? "dry run: would do these steps:" : "dry run: nothing to do");
    out.push(...result.plan.map((op) => `  ${describeOp(op)}`));
  }
  out.push(...result.lines);
  if (out.length) process.stdout.write(`${out.join("\n")}\n`);
}

/** One line of a long-running command's output; `text` is the human wording. */
export type StreamLine = { time: string; text: string } & Record<string, unknown>;

/**
 * Prints one line at once, for a command that runs until stopped (watch):
 * `TIME text` for people and journald, or one JSON object per line.
 */
export function printStreamLine(json: boolean, line: StreamLine): void {
  process.stdout.write(json ? `${JSON.stringify(line)}\n` : `${line.time} ${line.text}\n`);
}

let readerWatched = false;

/**
 * Makes a reader that went away (`makefilecheck status | head -1`, a
 * closed terminal) end the run quietly: Node would otherwise report the
 * failed write (EPIPE) as an uncaught error with a stack trace. The exit
 * code is the one the command already set.
 */
export function endQuietlyWhenReaderGoes(): void {
  if (readerWatched) return; // main() runs many times in one test process
  readerWatched = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE") throw err;
      process.exit();
    });
  }
}

/** Prints --help. */
export function printHelp(text: string): void {
  process.stdout.write(text);
}

/** Prints one line to stderr. */
export function printNote(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Prints a user error as one line. */
export function printError(message: string): void {
  process.stderr.write(`makefilecheck: ${message}\n`);
}
