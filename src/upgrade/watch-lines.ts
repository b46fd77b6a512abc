/**
 * The watcher's output: one line per thing that happened, stamped with the
 * time when it is printed (the run's clock, in src/upgrade/watch.ts), worded for journald (`TIME sync: exim4: 3 updated; config test
 * passed`, `TIME sync: CONFLICT: ...`) and carrying the same facts as JSON
 * fields. Lines that need the admin (CONFLICT, FAILED) are "loud": printed
 * even under -q.
 */
import type { AppReport, CommandResult } from "../context.js";
import { UserError } from "../errors.js";
import type { App } from "../server-layout.js";
import { opToJson, shownSteps } from "../plan.js";

/** A line to print, and whether -q may hide it; printing stamps it with the time. */
export interface WatchLine {
  line: { text: string } & Record<string, unknown>;
  loud: boolean;
}

/** Where the watcher sends its lines. */
export type Print = (l: WatchLine) => void;

/** A line of `fields`, quiet unless `loud` says otherwise. */
export function line(fields: { event: string; text: string; loud?: boolean } & Record<string, unknown>): WatchLine {
  const { loud = false, ...rest } = fields;
  return { line: rest, loud };
}

/** What one action of a round came to. */
export interface ActionOutcome {
  action: string;
  apps: App[];
  round: number;
  /** How many paths the burst touched. */
  paths: number;
  /** How long the action took. */
  ms: number;
  dryRun: boolean;
  result?: CommandResult;
  error?: unknown;
}

/** True when a report says the daemon rejected the config built after the action. */
function configTestFailed(result: CommandResult): boolean {
  return result.apps.some((r) => (r.configTest as { status?: string } | undefined)?.status === "failed");
}

/**
 * The status word of an action: `CONFLICT` when sync left something for the
 * admin to settle (its exit 1), `FAILED` when a command threw, a config
 * test failed or another exit code says the setup is not right, else `ok`.
 */
function statusOf(o: ActionOutcome): "ok" | "CONFLICT" | "FAILED" {
  if (o.error !== undefined || !o.result) return "FAILED";
  if (o.result.code === 0) return "ok";
  return o.result.code === 1 && o.action === "sync" && !configTestFailed(o.result) ? "CONFLICT" : "FAILED";
}

/** The message of a thrown error: the admin's one-liner, or an internal error. */
function errorMessage(error: unknown): string {
  if (error instanceof UserError) return error.message;
  return `internal error: ${error instanceof Error ? error.message : String(error)}`;
}

/** How many of a command's lines a watch line repeats; --json carries the full reports. */
const SHOWN_LINES = 4;

/** A command's lines on one line: the first few, then how many more there were. */
function gist(lines: string[]): string {
  const kept = lines.map((l) => l.trim()).filter(Boolean);
  const more = kept.length - SHOWN_LINES;
  return [...kept.slice(0, SHOWN_LINES), ...(more > 0 ? [`and ${more} more line(s)`] : [])].join(" | ");
}

/** Sync actions that leave the admin something to do. */
const NAMED = new Set(["conflict", "kept", "kept-retired"]);

/**
 * One app's sync on a few words, from its report: how many snippets each
 * action touched and the config test's verdict (`exim4: 3 updated, 1
 * conflict; config test passed`). Null when the report has no entries list.
 */
function syncGist(report: AppReport): string | null {
  if (!Array.isArray(report.entries)) return null;
  const counts = new Map<string, number>();
  const named = new Map<string, string[]>();
  for (const e of report.entries as Array<{ action?: unknown; path?: unknown }>) {
    const action = String(e.action);
    counts.set(action, (counts.get(action) ?? 0) + 1);
    // What needs the admin is named, so the line alone says which file to look at.
    if (NAMED.has(action)) named.set(action, [...(named.get(action) ?? []), String(e.path)]);
  }
  const parts = [...counts].map(([action, n]) => `${n} ${action}${named.has(action) ? ` (${named.get(action)!.join(", ")})` : ""}`);
  const test = (report.configTest as { status?: string } | undefined)?.status;
  return `${report.app}: ${parts.length ? parts.join(", ") : "nothing to do"}${test ? `; config test ${test}` : ""}`;
}

/**
 * The plan of a result in its JSON form: an in-process command's ops, or
 * the plan of a child's JSON document (src/upgrade/watch-spawn.ts).
 */
function planOf(result: CommandResult): Array<Record<string, unknown>> | undefined {
  if (result.plan) return shownSteps(result.plan).map(opToJson);
  const plan = result.data?.plan;
  return Array.isArray(plan) ? (plan as Array<Record<string, unknown>>) : undefined;
}

/** What the command said, shortened to one line. */
function said(o: ActionOutcome): string {
  if (o.error !== undefined) return errorMessage(o.error);
  const result = o.result as CommandResult;
  const steps = planOf(result);
  const plan = o.dryRun && steps ? [`dry run: would do ${steps.length} step(s)`] : [];
  const perApp = o.action === "sync" ? result.apps.map(syncGist) : [];
  const words = perApp.length && perApp.every((g) => g !== null) ? [...plan, ...(perApp as string[])] : [...plan, ...result.lines];
  return gist(words) || "done";
}

/** The line reporting one action of a round. */
export function actionLine(o: ActionOutcome): WatchLine {
  const status = statusOf(o);
  const plan = o.result && planOf(o.result);
  return line({
    event: "action",
    action: o.action,
    round: o.round,
    paths: o.paths,
    ms: o.ms,
    apps: o.apps,
    code: o.error !== undefined ? (o.error instanceof UserError ? o.error.code : 3) : o.result?.code,
    status,
    ...(o.error !== undefined ? { message: errorMessage(o.error) } : {}),
    ...(o.result ? { reports: o.result.apps } : {}),
    // The steps themselves only under --dry-run, where they are the answer;
    // a real round's can run to hundreds, and the reports say what changed.
    ...(plan ? (o.dryRun ? { plan } : { steps: plan.length }) : {}),
    text: `${o.action}: ${status === "ok" ? "" : `${status}: `}${said(o)}`,
    loud: status !== "ok",
  });
}
