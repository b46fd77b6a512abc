/**
 * The entry point bin/makefilecheck tries first: a bundle of its own,
 * dist/status.cjs, one file holding only what `status`, `report`, --help
 * and --version need, read without yargs, so that the command run by hand
 * and by every upgrade trigger starts fast (docs/architecture.md,
 * Budgets). Any other command line resolves to null, having done nothing,
 * and the launcher hands it to the full bundle (src/cli.ts).
 */
import { fastCommandLine } from "./args.js";
import type { ExitCode } from "./errors.js";
import { runCommandLine } from "./command-line.js";
import { report, status } from "./makefilecheck/status.js";

/** How bin/makefilecheck ends the process once a main has resolved. */
export { exitWhenWritten } from "./system/terminal.js";

/** The commands this bundle runs. */
const OWN = { status, report };

/**
 * True when `argv` runs status or report: a run whose V8 code cache of
 * this bundle holds what status runs. bin/makefilecheck keeps only such a
 * cache of it (one made by --version would leave status compiling the
 * rest on every run).
 */
export function runsStatus(argv: string[]): boolean {
  const parsed = fastCommandLine(argv);
  return parsed?.kind === "run" && Object.hasOwn(OWN, parsed.command);
}

/** Runs `argv` when it is a call of this bundle's; else null, with nothing done. */
export async function mainIfOwn(argv: string[]): Promise<ExitCode | null> {
  const parsed = fastCommandLine(argv);
  if (parsed === null || (parsed.kind === "run" && !Object.hasOwn(OWN, parsed.command))) return null;
  return runCommandLine(argv, async () => parsed, async (name) => OWN[name as keyof typeof OWN]);
}
