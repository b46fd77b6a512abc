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

/** Formats `path: problem — fix`, leaving out the parts that are empty. */
export function problem(path: string | undefined, what: string, fix?: string): string {
  return `${path ? `${path}: ` : ""}${what}${fix ? ` — ${fix}` : ""}`;
}
