/**
 * The last mutating run (a trigger's, the watcher's, or one by hand): its
 * command, when it ended and how, kept in the cache directory for the
 * monitoring outputs ("last run failed", the last-run metrics). A cache:
 * lost, the outputs leave the last run out, nothing else.
 */
import { childPath } from "../paths.js";
import { refreshCache } from "../plan.js";
import { CACHE_DIR } from "../server-layout.js";
import type { Reader, System } from "../system/system.js";
import type { LastRun } from "./health.js";

const LAST_RUN = childPath(CACHE_DIR, "last-run.json");

/** Records `run` through `caches`; a record that cannot be written is a cache lost, and says nothing. */
export function recordLastRun(caches: System, run: LastRun): void {
  refreshCache(caches, { op: "cache", path: LAST_RUN, data: Buffer.from(`${JSON.stringify(run)}\n`), why: "the last run, for the monitoring outputs" });
}

/** The recorded last run; null when none is recorded or the record is not one. */
export function lastRun(sys: Reader): LastRun | null {
  if (sys.stat(LAST_RUN)?.type !== "file") return null;
  try {
    const r = JSON.parse(sys.readFile(LAST_RUN).toString("utf8")) as Partial<LastRun>;
    if (typeof r.command !== "string" || typeof r.time !== "string" || Number.isNaN(Date.parse(r.time)) || typeof r.exit !== "number") return null;
    return { command: r.command, time: r.time, exit: r.exit, ...(typeof r.message === "string" ? { message: r.message } : {}) };
  } catch {
    return null;
  }
}
