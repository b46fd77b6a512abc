/**
 * The saved copies under STATE_DIR/saved/APP: every file a run overwrote or
 * removed. They must not grow for ever: at the end of each mutating run the
 * runs beyond the newest `runs` that are also older than `days` days are
 * pruned. The copy the run just made is never among them (it is the newest,
 * and `runs` is at least 1).
 */
import type { Op } from "./plan.js";
import type { App } from "./server-layout.js";
import { STATE_DIR } from "./server-layout.js";
import type { Reader } from "./system/system.js";
import { childPath } from "./paths.js";
import type { ServerPath } from "./paths.js";

/** How much of saved/ a run keeps, per app. */
export interface Keep {
  /** The newest runs, whatever their age (at least 1). */
  runs: number;
  /** Every run of the last this many days. */
  days: number;
}

/** What is kept when the admin gives no --keep-runs / --keep-days. */
export const DEFAULT_KEEP: Keep = { runs: 20, days: 90 };

/** Where `app`'s saved copies are. */
export function savedRoot(app: App): ServerPath {
  return childPath(childPath(STATE_DIR, "saved"), app);
}

const DAY_MS = 86_400_000;

/**
 * When the run that saved `name` ran, in ms since the epoch: a sync keeps
 * a directory `2026-12-02T11-24-01Z` (or `…Z-2`), use and repair a file
 * `Makefile.local.20261202T112401Z`. Null for a name of another shape,
 * which is never pruned.
 */
export function savedAt(name: string): number | null {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d)-(\d\d)-(\d\d)Z(?:-\d+)?$/.exec(name) ?? /\.(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(name);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

/**
 * The names of saved/APP to prune: a run is the entries saved at one time;
 * the newest `keep.runs` runs and every run of the last `keep.days` days
 * stay. Pure: a table of names in, names out.
 */
export function toPrune(names: string[], now: Date, keep: Keep): string[] {
  const times = [...new Set(names.map(savedAt).filter((t): t is number => t !== null))].sort((a, b) => b - a);
  const since = now.getTime() - keep.days * DAY_MS;
  const kept = new Set(times.filter((t, i) => i < Math.max(1, keep.runs) || t >= since));
  return names.filter((name) => {
    const t = savedAt(name);
    return t !== null && !kept.has(t);
  }).sort();
}

/** Steps removing `path` and everything below it, deepest first (System.remove takes empty directories only). */
function removeAll(sys: Reader, path: ServerPath): Op[] {
  const below = sys.stat(path)?.type === "dir" ? sys.list(path).flatMap((name) => removeAll(sys, childPath(path, name))) : [];
  return [...below, { op: "remove", path, why: "saved copy pruned" }];
}

/** One app's pruning: the names it prunes and the steps that do it. */
export interface Pruning {
  app: App;
  pruned: string[];
  ops: Op[];
}

/** The pruning of saved/ for `apps` (empty for an app with nothing to prune). */
export function planPrune(sys: Reader, apps: App[], now: Date, keep: Keep): Pruning[] {
  return apps.flatMap((app) => {
    const dir = savedRoot(app);
    if (sys.stat(dir)?.type !== "dir") return [];
    const pruned = toPrune(sys.list(dir), now, keep);
    return pruned.length ? [{ app, pruned, ops: pruned.flatMap((name) => removeAll(sys, childPath(dir, name))) }] : [];
  });
}

/** The line saying what a pruning removed (or would remove). */
export function prunedLine(p: Pruning, keep: Keep, dryRun: boolean): string {
  const n = p.pruned.length;
  const what = `${n} saved run${n === 1 ? "" : "s"} of ${p.app} (older than ${keep.days} days, beyond the last ${keep.runs})`;
  return `${dryRun ? "would prune" : "pruned"} ${what}: ${p.pruned.join(", ")}`;
}
