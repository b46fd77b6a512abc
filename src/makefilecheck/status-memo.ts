/**
 * `status`'s memo: for each app, what status found on disk (the profile,
 * drift, the built-config verdict and the linked-snippet problems; not the
 * daemon, which it asks each time) with the stamp of every path that was
 * read to find it (src/system/recording.ts). A later `status` that finds
 * every one of those stamps unchanged gives the same facts without reading
 * a tree, a Makefile or a cache again: on an unchanged server it lstats
 * what it read before and nothing more (docs/architecture.md, Budgets).
 *
 * As with the stat cache, facts resting on a path changed within RACY_MS
 * before the reading began are not kept (it could change again within the
 * same tick of its clock), nor facts any read of which failed. A memo made
 * by another version of makefilecheck or another user is not used.
 *
 * The file, CACHE_DIR/APP.status, is JSON: `{format, version, uid, facts,
 * stamps}`, each stamp `[path, type, ino, size, mtimeMs, ctimeMs]`, or
 * `[path]` for a path where nothing was. Being a cache, anything
 * unexpected in it means "no memo".
 */
import type { App } from "../server-layout.js";
import { CACHE_DIR, STATE_DIR } from "../server-layout.js";
import { refreshCache } from "../plan.js";
import type { PathStamp, RecordingReader } from "../system/recording.js";
import { sameStamp, stampOf } from "../system/recording.js";
import type { Reader, System } from "../system/system.js";
import { RACY_MS } from "../tree/statcache.js";
import { childPath, serverPath } from "../paths.js";
import type { ServerPath } from "../paths.js";
import { VERSION } from "../version.js";

/** Changes whenever the facts' shape or wording does within one version (a development build). */
const FORMAT = 1;

/** Where `app`'s memo lives. */
export function memoPath(app: App): ServerPath {
  return childPath(CACHE_DIR, `${app}.status`);
}

/** The user the reads were made as: what another cannot read, root can. */
function uid(): number {
  return process.getuid?.() ?? -1;
}

interface Memo {
  format: number;
  version: string;
  uid: number;
  facts: unknown;
  stamps: [string, ...unknown[]][];
}

/** The stamp a memo holds for a path, checked; undefined when it is not one. */
function storedStamp(rest: unknown[]): PathStamp | undefined {
  if (rest.length === 0) return null;
  const [type, ino, size, mtimeMs, ctimeMs] = rest;
  if (rest.length !== 5 || (type !== "file" && type !== "dir" && type !== "link" && type !== "other")) return undefined;
  if (typeof ino !== "number" || typeof size !== "number" || typeof mtimeMs !== "number" || typeof ctimeMs !== "number") return undefined;
  return [type, ino, size, mtimeMs, ctimeMs];
}

/** True when every path of `stamps` is as it was stamped. */
function unchanged(sys: Reader, stamps: Memo["stamps"]): boolean {
  for (const [path, ...rest] of stamps) {
    const stored = storedStamp(rest);
    if (stored === undefined || typeof path !== "string") return false;
    const now = stampOf(sys.stat(serverPath(path)));
    if (now === undefined || !sameStamp(stored, now)) return false;
  }
  return true;
}

/** The facts remembered for `app`, when every path they were read from is unchanged; else null. */
export function recallFacts<T>(sys: Reader, app: App): T | null {
  const path = memoPath(app);
  try {
    // Asked first, not caught: an error's stack costs a cached-code run a re-parse of every function on it.
    if (sys.stat(path)?.type !== "file") return null;
    const memo = JSON.parse(sys.readFile(path).toString("utf8")) as Memo;
    if (memo?.format !== FORMAT || memo.version !== VERSION || memo.uid !== uid() || !Array.isArray(memo.stamps)) return null;
    return unchanged(sys, memo.stamps) ? (memo.facts as T) : null;
  } catch {
    return null;
  }
}

/**
 * Records, through `caches`, the facts `reader` was used to find, when
 * every read it passed on is vouched for by a stamp and every stamp had
 * settled before `scannedAt` (when the reading began). Only where
 * makefilecheck keeps state already; quiet when it cannot write.
 */
export function rememberFacts(caches: System, app: App, facts: unknown, reader: RecordingReader, scannedAt: number): void {
  if (!reader.usable) return;
  const before = scannedAt - RACY_MS;
  const stamps: Memo["stamps"] = [];
  for (const [path, stamp] of reader.stamps) {
    if (stamp !== null && Math.max(stamp[3], stamp[4]) >= before) return;
    stamps.push(stamp === null ? [path] : [path, ...stamp]);
  }
  if (caches.stat(STATE_DIR)?.type !== "dir") return;
  const memo: Memo = { format: FORMAT, version: VERSION, uid: uid(), facts, stamps };
  refreshCache(caches, { op: "cache", path: memoPath(app), data: Buffer.from(JSON.stringify(memo)), drop: [], why: "status's memo" });
}
