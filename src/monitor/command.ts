/**
 * `monitor`: the monitoring-plugin mode (one line, perfdata, exit 0 OK,
 * 1 WARNING, 2 CRITICAL, 3 UNKNOWN) and, with `--prometheus DIR`, the
 * metrics file for node exporter's textfile collector. `afterRun` records
 * each mutating run and refreshes the metrics file after it, so the file
 * follows every trigger run. The facts are read by the `status` and
 * `changes` commands themselves, as their --json documents: one truth.
 */
import { optionsOf } from "../args.js";
import type { AppReport, Args, CommandResult, Context, Textfile } from "../context.js";
import { EnvironmentError, Exit, UserError, isSystemFailure, problem } from "../errors.js";
import type { ExitCode } from "../errors.js";
import { changes } from "../changes/commands.js";
import { findTriggers } from "../doctor/state.js";
import { status } from "../makefilecheck/status.js";
import { childPath } from "../paths.js";
import type { ServerPath } from "../paths.js";
import { STATE_DIR, appPaths } from "../server-layout.js";
import { hostReader } from "../system/host.js";
import { VERSION } from "../version.js";
import type { AppFacts, ChangeView, Facts, StatusView } from "./health.js";
import { health, inForce } from "./health.js";
import { lastRun, recordLastRun } from "./last-run.js";
import { metricsText, PROM_FILE } from "./metrics.js";

/** The facts of every app of the run, read through `status` and `changes` as their JSON documents. */
async function gather(ctx: Context): Promise<Facts> {
  const quiet = { ...ctx, note: () => {} };
  const byApp = (r: CommandResult) => new Map(r.apps.map((a) => [a.app, a]));
  const statuses = byApp(await status(quiet, { _: [] }));
  const tables = byApp(await changes(quiet, { _: [] }));
  const now = ctx.now().getTime();
  const apps: AppFacts[] = ctx.apps.map((app) => {
    const conf = ctx.sys.stat(appPaths(app).conf);
    // The documents' shapes are the JSON contract (README, "The JSON documents"); health.ts names the parts it reads.
    const changesOf = (tables.get(app) as AppReport & { changes?: ChangeView[] }) ?? { changes: [] };
    return {
      status: statuses.get(app) as unknown as StatusView,
      changes: changesOf.changes ?? [],
      builtAgeS: conf?.type === "file" ? Math.max(0, Math.round((now - (conf.mtimeMs ?? now)) / 1000)) : null,
    };
  });
  const t = findTriggers(ctx.sys, hostReader());
  return { apps, trigger: t.dpkg || t.apt || t.systemd || t.watch.length > 0, lastRun: lastRun(ctx.sys) };
}

/** Writes makefilecheck.prom into the textfile directory, atomically (node exporter reads only `*.prom`, never the temp file). */
function writeMetrics(textfile: Textfile, facts: Facts): ServerPath {
  if (textfile.sys.stat(textfile.dir)?.type !== "dir") {
    throw new EnvironmentError(problem(textfile.dir, "no such directory", "give node exporter's textfile directory (Debian's prometheus-node-exporter: /var/lib/prometheus/node-exporter)"));
  }
  const path = childPath(textfile.dir, PROM_FILE);
  textfile.sys.writeFile(path, metricsText(facts, VERSION), { mode: 0o644 });
  return path;
}

/** `monitor`: the plugin's line and exit code; with --prometheus, the metrics file too. */
export async function monitor(ctx: Context, args: Args): Promise<CommandResult> {
  const { prometheus } = optionsOf("monitor", args);
  let facts: Facts;
  try {
    facts = await gather(ctx);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    const line = `MAKEFILECHECK UNKNOWN - ${err.message.replace(/\|/g, "/")}`;
    return { code: 3, apps: [], lines: [line], problems: [line], data: { state: "UNKNOWN", findings: [{ state: "UNKNOWN", text: err.message }] } };
  }
  const h = health(facts);
  const notes: string[] = [];
  if (prometheus !== undefined && ctx.textfile) notes.push(`wrote ${writeMetrics(ctx.textfile, facts)}`);
  const apps = facts.apps.map((a) => ({ app: a.status.app, inForce: inForce(a.status), builtAgeSeconds: a.builtAgeS }));
  for (const n of notes) ctx.note(n);
  return { code: h.code as ExitCode, apps, lines: [h.line], problems: h.state === "OK" ? [] : [h.line], data: { state: h.state, findings: h.findings } };
}

/**
 * After a mutating run (not a dry run): records how it ended and, when the
 * textfile directory is there, refreshes the metrics file. A run refused
 * as bad usage or input (exit 2: nothing changed, the admin's typo answered
 * on their terminal) is no state of the server and is not recorded; nor is
 * anything before the state directory exists. Never changes the run's
 * outcome: the record is a cache, the metrics file a note when it fails.
 */
export async function afterRun(ctx: Context, command: string, code: ExitCode, message?: string): Promise<void> {
  if (code === Exit.badInput || ctx.sys.stat(STATE_DIR)?.type !== "dir") return;
  if (ctx.caches) recordLastRun(ctx.caches, { command, time: ctx.now().toISOString(), exit: code, ...(message ? { message } : {}) });
  try {
    if (ctx.textfile && ctx.sys.stat(ctx.textfile.dir)?.type === "dir") writeMetrics(ctx.textfile, await gather(ctx));
  } catch (err) {
    if (!(err instanceof UserError) && !isSystemFailure(err)) throw err;
    ctx.note(`warning: the metrics for node exporter were not refreshed: ${err.message}`);
  }
}
