/**
 * Drift's stat cache: for each snippet file sync last saw, its stamp
 * (inode, size, change times) and sha256. `drift` (read-only) trusts a
 * hash only while the file's stamp is unchanged, so it reads just the files
 * touched since, as git's index does. `sync` never uses it: it reads every
 * file, and refreshes the cache afterwards. Being only a cache, a damaged
 * one is ignored, never an error.
 */
import type { App } from "../layout.js";
import { STATE_DIR } from "../layout.js";
import type { System, Reader } from "../system/system.js";
import type { KnownHash, Snapshot } from "./scan.js";

const VERSION = 1;
/**
 * A file changed this close before the cache is written may change again
 * within the same timestamp tick and keep its stamp: such files are left
 * out and read again next time.
 */
const RACY_MS = 2_000;

/** Where `app`'s cache lives. */
export function statCachePath(app: App): string {
  return `${STATE_DIR}/cache/${app}.json`;
}

/** Per tree: relative path → `STAMP SHA256`. */
interface CacheFile {
  version: typeof VERSION;
  app: App;
  upstream: Record<string, string>;
  local: Record<string, string>;
}

/** Lookups for both trees; null when there is no usable cache. */
export interface StatCache {
  upstream: KnownHash;
  local: KnownHash;
}

function lookup(table: Record<string, string>): KnownHash {
  return (rel, stamp) => {
    const row = Object.hasOwn(table, rel) ? table[rel] : undefined;
    if (!row) return undefined;
    const space = row.indexOf(" ");
    return row.slice(0, space) === stamp ? row.slice(space + 1) : undefined;
  };
}

/** Reads `app`'s cache; anything unexpected means "no cache". */
export function readStatCache(sys: Reader, app: App): StatCache | null {
  try {
    const raw = JSON.parse(sys.readFile(statCachePath(app)).toString("utf8")) as Partial<CacheFile>;
    if (raw.version !== VERSION || raw.app !== app || typeof raw.upstream !== "object" || typeof raw.local !== "object" || !raw.upstream || !raw.local) return null;
    return { upstream: lookup(raw.upstream), local: lookup(raw.local) };
  } catch {
    return null;
  }
}

/** Rows for the regular files of `tree` that were hashed, settled, and not in `touched`. */
function rows(tree: Snapshot, touched: Set<string>, before: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rel, e] of tree.entries) {
    if (e.type !== "file" || !e.stamp || !e.sha256 || e.ctimeMs === undefined) continue;
    if (e.ctimeMs >= before || touched.has(`${tree.dir}/${rel}`)) continue;
    out[rel] = `${e.stamp} ${e.sha256}`;
  }
  return out;
}

/**
 * Records what a sync read, leaving out the paths its plan wrote or
 * removed (`touched`, server paths). `scannedAt` is when the scan began
 * (epoch ms): a file is trusted only if it had settled before then.
 * Rewrites the file only when its content changes, so a sync with nothing
 * to do changes nothing.
 */
export function writeStatCache(sys: System, app: App, upstream: Snapshot, local: Snapshot, touched: Set<string>, scannedAt: number): void {
  const before = scannedAt - RACY_MS;
  const file: CacheFile = { version: VERSION, app, upstream: rows(upstream, touched, before), local: rows(local, touched, before) };
  const data = Buffer.from(JSON.stringify(file));
  const path = statCachePath(app);
  if (sys.stat(path)?.type === "file" && sys.readFile(path).equals(data)) return;
  sys.mkdir(`${STATE_DIR}/cache`, { mode: 0o700 });
  sys.writeFile(path, data, { mode: 0o600 });
}
