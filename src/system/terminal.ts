/**
 * Standard output and error, written with write(2) on descriptors 1 and 2
 * rather than through process.stdout and process.stderr: Node builds those
 * streams (and loads its stream code) on first touch, which costs `status`
 * about 5 ms of its start-up budget (docs/architecture.md, Budgets).
 * src/render.ts decides what is printed; this is only the device.
 */
import { fstatSync, statSync, writeSync } from "node:fs";
import { builtin } from "../builtin.js";

/** Descriptors whose output now goes through Node's stream, to keep the order of what was written. */
const handedOver = new Set<1 | 2>();
/** Descriptors whose reader has gone: what is still written to them is dropped. */
const gone = new Set<1 | 2>();
const goneListeners = new Set<() => void>();

/** Drops what is still written to `fd`, and tells who asked (watch stops). */
function readerWent(fd: 1 | 2): void {
  if (gone.has(fd)) return;
  gone.add(fd);
  for (const listener of goneListeners) listener();
}

/**
 * Calls `listener` when a reader of the output goes away; returns the
 * call that stops listening.
 */
export function onReaderGone(listener: () => void): () => void {
  goneListeners.add(listener);
  return () => goneListeners.delete(listener);
}

/** Node's stream for `fd`, whose failed writes count as the reader going. */
function streamOf(fd: 1 | 2): NodeJS.WriteStream {
  const stream = fd === 1 ? process.stdout : process.stderr;
  if (!handedOver.has(fd)) {
    handedOver.add(fd);
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE") throw err;
      readerWent(fd);
    });
  }
  return stream;
}

/**
 * Writes all of `text` to `fd`. A reader that went away (EPIPE:
 * `makefilecheck status | head -1`, a closed terminal) is no error: the
 * rest of the output is dropped, with no stack trace, and the command
 * ends with its own exit code. A descriptor that cannot take it at once
 * (EAGAIN: a non-blocking pipe shared with a parent) gets the rest, and
 * all later output, through Node's stream, which waits for the reader.
 */
function write(fd: 1 | 2, text: string): void {
  if (gone.has(fd)) return;
  if (handedOver.has(fd)) {
    streamOf(fd).write(text);
    return;
  }
  const bytes = Buffer.from(text);
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EPIPE") return readerWent(fd);
    if (code !== "EAGAIN") throw err;
    streamOf(fd).write(bytes.subarray(done));
  }
}

/**
 * Ends the process with `code`: at once when all output went out by
 * write(2), which spares V8's teardown of the heap (about 2 ms of
 * `status`'s budget); when Node's stream still holds some, by the normal
 * end, which writes it first.
 */
export function exitWhenWritten(code: number): void {
  process.exitCode = code;
  if (handedOver.size === 0) process.exit();
}

/** Where the renderer's text goes; tests replace these two to read it. */
export const terminal = {
  out: (text: string): void => write(1, text),
  err: (text: string): void => write(2, text),
};

/**
 * True when standard output is a terminal. Only a character device other
 * than /dev/null can be one; Node's tty module, which loads the stream
 * code, is asked only then, so a pipe, a file, cron and journald cost a
 * stat.
 */
export function stdoutIsTerminal(): boolean {
  try {
    const out = fstatSync(1);
    if (!out.isCharacterDevice() || out.rdev === statSync("/dev/null").rdev) return false;
  } catch {
    return false;
  }
  return builtin<typeof import("node:tty")>("node:tty").isatty(1);
}

/** The terminal's width in columns, for --help; 80 off a terminal. */
export function terminalColumns(): number {
  return (stdoutIsTerminal() && process.stdout.columns) || 80;
}
