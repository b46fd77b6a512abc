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

/** One cached file: its stamp's numbers, then its sha256. */
type Row = [ino: number, size: number, mtimeMs: number, ctimeMs: number, sha256: string];

/** Per tree: relative path → row. */
interface CacheFile {
  version: typeof VERSION;
  app: App;
  upstream: Record<string, Row>;
  local: Record<string, Row>;
}

/** Lookups for both trees; null when there is no usable cache. */
export interface StatCache {
  upstream: KnownHash;
  local: KnownHash;
}

/** Numbers compared as numbers: formatting 20,000 change times as strings costs more than the lookup. */
function lookup(table: Record<string, Row>): KnownHash {
  return (rel, stamp) => {
    const row = Object.hasOwn(table, rel) ? table[rel] : undefined;
    if (!Array.isArray(row) || row[0] !== stamp.ino || row[1] !== stamp.size || row[2] !== stamp.mtimeMs || row[3] !== stamp.ctimeMs) return undefined;
    return typeof row[4] === "string" ? row[4] : undefined;
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
function rows(tree: Snapshot, touched: Set<string>, before: number): Record<string, Row> {
  const out: Record<string, Row> = {};
  for (const [rel, e] of tree.entries) {
    if (e.type !== "file" || !e.stamp || !e.sha256) continue;
    if (e.stamp.ctimeMs >= before || touched.has(`${tree.dir}/${rel}`)) continue;
    out[rel] = [e.stamp.ino, e.stamp.size, e.stamp.mtimeMs, e.stamp.ctimeMs, e.sha256];
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
