/**
 * The entry point of the bundle (dist/makefilecheck.cjs, which
 * bin/makefilecheck requires): every command, each command's module
 * imported only when it runs (src/command-line.ts runs the command line).
 */
import type { CommandName } from "./args.js";
import type { ExitCode } from "./errors.js";
import { runCommandLine } from "./command-line.js";
import type { Command } from "./command-line.js";

/**
 * Each command's module, imported only when that command runs, so that a
 * command loads and compiles only its own code (docs/architecture.md,
 * Budgets).
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
  // `sync --trigger` (the package's trigger) repairs first, which sync/ cannot reach: upgrade/ decides.
  sync: async () => (await import("./upgrade/trigger.js")).syncOrTrigger,
  install: async () => (await import("./changes/commands.js")).install,
  changes: async () => (await import("./changes/commands.js")).changes,
  watch: async () => (await import("./upgrade/watch.js")).watch,
  hooks: async () => (await import("./upgrade/hooks.js")).hooks,
  doctor: async () => (await import("./doctor/command.js")).doctor,
  monitor: async () => (await import("./monitor/command.js")).monitor,
} satisfies Record<CommandName, () => Promise<Command>>;

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<ExitCode> {
  return runCommandLine(argv, (name) => LOAD[name]());
}
