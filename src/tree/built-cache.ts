/**
 * The built-config verdict, remembered. To say whether the built config is
 * current, `status` reads it and every snippet of the chosen tree. When it
 * found it current, it records what that verdict rests on: the tree, and
 * the inode, size and change times of the built file and of every snippet
 * (a link's end). While none of them changed, the next run knows the
 * answer without reading. As with the stat cache, a file changed within
 * RACY_MS of the reading could change again without its stamp showing it,
 * so such a verdict is not recorded; a damaged or foreign record is only
 * no match.
 */
import { UserError } from "../errors.js";
import type { App, Mode } from "../server-layout.js";
import { CACHE_DIR, STATE_DIR } from "../server-layout.js";
import type { Entry, Reader, System } from "../system/system.js";
import type { TreeFile } from "./configtest.js";
import { refreshCache } from "../plan.js";
import { RACY_MS } from "./statcache.js";
import { childPath } from "../paths.js";
import type { ServerPath } from "../paths.js";

/** The numbers of a file's lstat that change with its bytes. */
type Stamped = Pick<Entry, "ino" | "size" | "mtimeMs" | "ctimeMs">;

/** Where `app`'s remembered verdict lives. */
export function builtCachePath(app: App): ServerPath {
  return childPath(CACHE_DIR, `${app}.built`);
}

/**
 * What a current verdict rests on, as text: the app and tree, the built
 * file's stamp, and each snippet's path, end and stamp, in the Makefile's
 * order. Null when the System gives no stamps.
 */
export function builtKey(app: App, mode: Mode, conf: Stamped, files: TreeFile[]): string | null {
  const stamps = [conf, ...files.map((f) => f.stamp)];
  if (stamps.some((s) => s.ino === undefined || s.mtimeMs === undefined || s.ctimeMs === undefined)) return null;
  const line = (s: Stamped) => `${s.ino} ${s.size} ${s.mtimeMs} ${s.ctimeMs}`;
  return `makefilecheck-built 1 ${app} ${mode}\n${line(conf)}\n${files.map((f) => `${JSON.stringify([f.rel, f.end])} ${line(f.stamp)}\n`).join("")}`;
}

/** True when the built config was recorded current for exactly `key`. */
export function knownCurrent(sys: Reader, app: App, key: string): boolean {
  const path = builtCachePath(app);
  // Asked first, not caught: an error's stack costs a cached-code run a re-parse of every function on it.
  if (sys.stat(path)?.type !== "file") return false;
  try {
    return sys.readFile(path).toString("utf8") === key;
  } catch (err) {
    if (err instanceof UserError) return false;
    throw err;
  }
}

/**
 * Records, through `caches`, that the build was current for `key`, when
 * every file it rests on (`stamps`) had settled before `scannedAt` (when
 * the run began reading). Only where makefilecheck keeps state already;
 * quiet when it cannot write.
 */
export function recordCurrent(caches: System, app: App, key: string, stamps: Stamped[], scannedAt: number): void {
  const before = scannedAt - RACY_MS;
  if (!stamps.every((s) => Math.max(s.mtimeMs ?? Infinity, s.ctimeMs ?? Infinity) < before)) return;
  if (caches.stat(STATE_DIR)?.type !== "dir") return;
  refreshCache(caches, { op: "cache", path: builtCachePath(app), data: Buffer.from(key), drop: [], why: "status's built-config verdict" });
}
