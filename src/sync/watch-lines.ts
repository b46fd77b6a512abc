/**
 * The watcher's output: one line per thing that happened, stamped with the
 * time, worded for journald (`TIME exim4: sync: ok: ...`) and carrying the
 * same facts as JSON fields. Lines that need the admin (CONFLICT, FAILED)
 * are "loud": printed even under -q.
 */
import type { CommandResult } from "../context.js";
import { UserError } from "../errors.js";
import type { App } from "../layout.js";
import { opToJson } from "../plan.js";
import type { StreamLine } from "../render.js";

/** A line to print, and whether -q may hide it. */
export interface WatchLine {
  line: StreamLine;
  loud: boolean;
}

/** Where the watcher sends its lines. */
export type Print = (l: WatchLine) => void;

/** Stamps a line with the current time. */
export function line(fields: { event: string; text: string; loud?: boolean } & Record<string, unknown>): WatchLine {
  const { loud = false, ...rest } = fields;
  return { line: { time: new Date().toISOString(), ...rest }, loud };
}

/** What one action of a round came to. */
export interface ActionOutcome {
  action: string;
  apps: App[];
  round: number;
  events: number;
  dryRun: boolean;
  result?: CommandResult;
  error?: unknown;
}

/**
 * The status word of an action: `CONFLICT` when sync left a conflict (its
 * exit 1), `FAILED` when a command threw or another exit code says the
 * setup is not right, else `ok`.
 */
export function statusOf(o: ActionOutcome): "ok" | "CONFLICT" | "FAILED" {
  if (o.error !== undefined || !o.result) return "FAILED";
  if (o.result.code === 0) return "ok";
  return o.result.code === 1 && o.action === "sync" ? "CONFLICT" : "FAILED";
}

/** The message of a thrown error: the admin's one-liner, or an internal error. */
function errorMessage(error: unknown): string {
  if (error instanceof UserError) return error.message;
  return `internal error: ${error instanceof Error ? error.message : String(error)}`;
}

/** The line reporting one action of a round. */
export function actionLine(o: ActionOutcome): WatchLine {
  const status = statusOf(o);
  const said =
    o.error !== undefined
      ? errorMessage(o.error)
      : [
          ...(o.dryRun && o.result?.plan ? [`dry run: would do ${o.result.plan.length} step(s)`] : []),
          ...(o.result?.lines ?? []).map((l) => l.trim()).filter(Boolean),
        ].join(" | ") || "done";
  return line({
    event: "action",
    action: o.action,
    round: o.round,
    events: o.events,
    apps: o.apps,
    code: o.error !== undefined ? (o.error instanceof UserError ? o.error.code : 3) : o.result?.code,
    status,
    ...(o.error !== undefined ? { message: errorMessage(o.error) } : {}),
    ...(o.result ? { reports: o.result.apps } : {}),
    ...(o.result?.plan?.length ? { plan: o.result.plan.map(opToJson) } : {}),
    text: `${o.apps.join(", ")}: ${o.action}: ${status === "ok" ? "" : `${status}: `}${said}`,
    loud: status !== "ok",
  });
}
