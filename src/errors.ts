/**
 * The few error kinds the CLI knows. Each carries its exit code and a message
 * of the form `PATH: problem — fix`; src/cli.ts prints it once, without a
 * stack trace.
 */

/** Exit codes of the command-line contract (README.md, Commands). */
export const Exit = {
  ok: 0,
  actionNeeded: 1,
  badInput: 2,
  environment: 3,
  /** A bug of ours (a programming error), never a verdict on the machine: report it. */
  internal: 70,
} as const;
export type ExitCode = (typeof Exit)[keyof typeof Exit];

/** An error meant for the administrator, with the exit code it ends the run with. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly code: ExitCode,
  ) {
    super(message);
    this.name = "UserError";
  }
}

/** Bad arguments, settings or file contents: exit 2, nothing changed. */
export class InputError extends UserError {
  constructor(message: string) {
    super(message, Exit.badInput);
    this.name = "InputError";
  }
}

/** The machine is not usable as it is (permissions, lock, missing tree): exit 3. */
export class EnvironmentError extends UserError {
  constructor(message: string) {
    super(message, Exit.environment);
    this.name = "EnvironmentError";
  }
}

/**
 * The system refuses a write and would refuse it again (permission, an
 * immutable file, a read-only mount, a symlink where a directory should
 * be): exit 3. A run that meets one part way undoes its own steps rather
 * than leave a journal no later run could finish (src/plan.ts).
 */
export class RefusedError extends EnvironmentError {
  constructor(message: string) {
    super(message);
    this.name = "RefusedError";
  }
}

/**
 * Whether `err` is the machine's failure (an errno such as EIO or ENOSPC
 * that the System did not word), as opposed to a bug of ours.
 */
export function isSystemFailure(err: unknown): err is NodeJS.ErrnoException {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return err instanceof Error && typeof code === "string" && /^E[A-Z]+$/.test(code);
}

/** The parts of a one-line error, as `--json` reports them. */
export interface ProblemParts {
  path: string | null;
  message: string;
  fix: string | null;
  /** The snippet and line a daemon's refusal points at (daemon-words.ts). */
  source?: { file: string; line: number };
}

/**
 * The parts of the lines problem() made lately, so that an error thrown
 * with one can be reported as JSON part by part without every call site
 * carrying them twice. Bounded: a watcher runs for weeks.
 */
const RECENT = new Map<string, ProblemParts>();
const RECENT_MAX = 256;

/** Text from outside (a path, a value) with its control characters as `\xNN`, so that it cannot split or forge a line. */
export function escapeControls(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/**
 * Formats `path: problem — fix`, leaving out the parts that are empty. The
 * path and the problem may quote what the admin gave (`--root` with a
 * newline in it): their control characters are escaped, so the error
 * stays one line. `source` (a daemon's refusal located in a snippet) goes
 * to --json only.
 */
export function problem(rawPath: string | undefined, rawWhat: string, fix?: string, source?: ProblemParts["source"]): string {
  const path = rawPath && escapeControls(rawPath);
  const what = escapeControls(rawWhat);
  const line = `${path ? `${path}: ` : ""}${what}${fix ? ` — ${fix}` : ""}`;
  RECENT.delete(line);
  RECENT.set(line, { path: path || null, message: what, fix: fix || null, ...(source ? { source } : {}) });
  if (RECENT.size > RECENT_MAX) RECENT.delete(RECENT.keys().next().value as string);
  return line;
}

/** The parts of an error line: as problem() made it, else the whole line as the message. */
export function partsOf(line: string): ProblemParts {
  return RECENT.get(line) ?? { path: null, message: line, fix: null };
}

/**
 * Another makefilecheck run held the run lock for longer than this one
 * would wait: exit 3. A type of its own so that the watcher can try its
 * round again without reading the message.
 */
export class LockHeldError extends EnvironmentError {
  constructor(message: string) {
    super(message);
    this.name = "LockHeldError";
  }
}
