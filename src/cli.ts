/**
 * The entry point of the full bundle (dist/makefilecheck.cjs): every
 * command, each command's module imported only when it runs, and the
 * command line read by yargs where the fast reader gives up
 * (src/command-line.ts runs it).
 */
import { fastCommandLine, yargsCommandLine } from "./args.js";
import type { CommandName } from "./args.js";
import type { ExitCode } from "./errors.js";
import { runCommandLine } from "./command-line.js";
import type { Command } from "./command-line.js";

/** How bin/makefilecheck ends the process once main has resolved. */
export { exitWhenWritten } from "./system/terminal.js";

/**
 * Each command's module, imported only when that command runs: loading
 * every module up front would cost `status` its start-up budget.
 */
const LOAD = {
  status: async () => (await import("./makefilecheck/status.js")).status,
  report: async () => (await import("./makefilecheck/status.js")).report,
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
  doctor: async () => (await import("./doctor/command.js")).doctor,
  monitor: async () => (await import("./monitor/command.js")).monitor,
} satisfies Record<CommandName, () => Promise<Command>>;

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<ExitCode> {
  return runCommandLine(argv, async (a) => fastCommandLine(a) ?? (await yargsCommandLine(a)), (name) => LOAD[name]());
}
