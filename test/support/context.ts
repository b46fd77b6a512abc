/**
 * A Context for calling commands as functions in tests: a RealSystem rooted
 * in a temp dir (wrapped for --dry-run like the CLI does), notes collected
 * instead of printed.
 */
import type { Context } from "../../src/context.js";
import type { App } from "../../src/server-layout.js";
import { APPS } from "../../src/server-layout.js";
import { DEFAULT_KEEP } from "../../src/saved.js";
import { RealSystem } from "../../src/system/real.js";
import { DryRunSystem } from "../../src/system/wrappers.js";

/** A test Context plus the notes the command gave. */
export type TestContext = Context & { notes: string[] };

/** Builds a Context on `root`; `dryRun` wraps the system as the CLI does; `now` stops the run's clock at that time. */
export function testContext(root: string, opts: { dryRun?: boolean; json?: boolean; apps?: App[]; now?: Date } = {}): TestContext {
  const real = new RealSystem(root);
  const notes: string[] = [];
  return {
    sys: opts.dryRun ? new DryRunSystem(real) : real,
    apps: [...(opts.apps ?? APPS)],
    json: Boolean(opts.json),
    quiet: false,
    dryRun: Boolean(opts.dryRun),
    color: false,
    lockWaitMs: 3_000,
    now: () => opts.now ?? new Date(),
    keep: DEFAULT_KEEP,
    note: (line) => notes.push(line),
    notes,
  };
}
