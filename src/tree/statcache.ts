/**
 * Drift's stat cache: for each snippet file sync last saw, its stamp
 * (inode, size, change times) and sha256. `drift` (read-only) trusts a
 * hash only while the file's stamp is unchanged, so it reads just the files
 * touched since, as git's index does. `sync` never uses it: it reads every
 * file, and its plan carries a step that refreshes the cache
 * (`statCacheOp`). Being only a cache, a damaged one is ignored, never an
 * error: drift then reads every file.
 *
 * `status` (reading only) writes it too, through the cache-only System it
 * is given, when it had to read a file that has settled since: on an
 * installed tree, the files `install` just wrote are too fresh to be
 * trusted when it ends, so the first `status` after them records them.
 *
 * The file is binary, because drift reads it on every run and a 10,000
 * snippet tree's cache is megabytes: a header line `makefilecheck-statcache
 * 2 APP`, then for sympl.d and sympl-local.d a record count (u32) and per
 * record the path's length (u16) and UTF-8 bytes, four float64 numbers
 * (inode, size, mtimeMs, ctimeMs) and the 32 bytes of the sha256, all
 * little-endian. Looking a path up decodes only its own record.
 */
import type { App } from "../server-layout.js";
import { CACHE_DIR } from "../server-layout.js";
import type { CacheOp } from "../plan.js";
import { refreshCache } from "../plan.js";
import type { Reader, System } from "../system/system.js";
import type { KnownHash, Snapshot } from "./scan.js";
import { childPath } from "../paths.js";
import type { ServerPath } from "../paths.js";

const MAGIC = "makefilecheck-statcache";
const VERSION = 2;
/**
 * A file changed this close before the cache is written may change again
 * within the same timestamp tick and keep its stamp: such files are left
 * out and read again next time.
 */
export const RACY_MS = 2_000;
/** Bytes of a record after its path: four float64 numbers and a sha256. */
const FIXED = 4 * 8 + 32;

/** Where `app`'s cache lives. */
export function statCachePath(app: App): ServerPath {
  return childPath(CACHE_DIR, `${app}.bin`);
}

/** Lookups for both trees; null when there is no usable cache. */
export interface StatCache {
  upstream: KnownHash;
  local: KnownHash;
}

/** One tree's records: path → offset of its numbers in `data`. */
function lookup(data: Buffer, table: Map<string, number>): KnownHash {
  // V8's own DataView reads: Buffer's readDoubleLE is JavaScript that a short run never gets to optimise.
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const number = (at: number) => view.getFloat64(at, true);
  return (rel, stamp) => {
    const at = table.get(rel);
    if (at === undefined) return undefined;
    if (number(at) !== stamp.ino || number(at + 8) !== stamp.size) return undefined;
    if (number(at + 16) !== stamp.mtimeMs || number(at + 24) !== stamp.ctimeMs) return undefined;
    return data.toString("hex", at + 32, at + FIXED);
  };
}

/** Reads one tree's records from `at`; null when they overrun the data. */
function readSection(data: Buffer, at: number): { table: Map<string, number>; end: number } | null {
  if (at + 4 > data.length) return null;
  const count = data.readUInt32LE(at);
  const table = new Map<string, number>();
  let p = at + 4;
  for (let i = 0; i < count; i++) {
    if (p + 2 > data.length) return null;
    const len = data.readUInt16LE(p);
    const numbers = p + 2 + len;
    if (numbers + FIXED > data.length) return null;
    table.set(data.toString("utf8", p + 2, numbers), numbers);
    p = numbers + FIXED;
  }
  return { table, end: p };
}

/** Reads `app`'s cache; anything unexpected (no file, another version or app, a cut-off file) means "no cache". */
export function readStatCache(sys: Reader, app: App): StatCache | null {
  try {
    // Asked first: no cache is the common case on a first run, not an error.
    if (sys.stat(statCachePath(app))?.type !== "file") return null;
    const data = sys.readFile(statCachePath(app));
    const header = `${MAGIC} ${VERSION} ${app}\n`;
    if (data.toString("latin1", 0, header.length) !== header) return null;
    const upstream = readSection(data, header.length);
    const local = upstream && readSection(data, upstream.end);
    if (!upstream || !local || local.end !== data.length) return null;
    return { upstream: lookup(data, upstream.table), local: lookup(data, local.table) };
  } catch {
    return null;
  }
}

/** One record to write. */
interface Row {
  rel: string;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  sha256: string;
}

/** Rows for the regular files of `tree` that were hashed, settled, and not in `touched`. */
function rows(tree: Snapshot, touched: ReadonlySet<string>, before: number): Row[] {
  const out: Row[] = [];
  for (const [rel, e] of tree.entries) {
    if (e.type !== "file" || !e.stamp || !e.sha256) continue;
    if (e.stamp.ctimeMs >= before || touched.has(`${tree.dir}/${rel}`)) continue;
    const { ino, size, mtimeMs, ctimeMs } = e.stamp;
    out.push({ rel, ino, size, mtimeMs, ctimeMs, sha256: e.sha256 });
  }
  return out;
}

/** The file's bytes for two trees' rows. */
function encode(app: App, sections: Row[][]): Buffer {
  const header = Buffer.from(`${MAGIC} ${VERSION} ${app}\n`, "latin1");
  let size = header.length;
  for (const section of sections) for (const row of section) size += 2 + Buffer.byteLength(row.rel) + FIXED;
  const data = Buffer.alloc(size + 4 * sections.length);
  let p = header.copy(data, 0);
  for (const section of sections) {
    p = data.writeUInt32LE(section.length, p);
    for (const row of section) {
      const len = Buffer.byteLength(row.rel);
      p = data.writeUInt16LE(len, p);
      p += data.write(row.rel, p, len, "utf8");
      p = data.writeDoubleLE(row.ino, p);
      p = data.writeDoubleLE(row.size, p);
      p = data.writeDoubleLE(row.mtimeMs, p);
      p = data.writeDoubleLE(row.ctimeMs, p);
      data.write(row.sha256, p, 32, "hex");
      p += 32;
    }
  }
  return data;
}

/**
 * The plan step that records what a sync read, leaving out the paths its
 * plan writes or removes (`touched`, server paths). `scannedAt` is when
 * the scan began (epoch ms): a file is trusted only if it had settled
 * before then. The bytes are computed here, from the scan; the step is
 * evaluated when the plan is applied, and rewrites the file only when its
 * content changes, so a sync with nothing to do changes nothing.
 */
export function statCacheOp(app: App, upstream: Snapshot, local: Snapshot, touched: ReadonlySet<string>, scannedAt: number): CacheOp {
  const before = scannedAt - RACY_MS;
  const data = encode(app, [rows(upstream, touched, before), rows(local, touched, before)]);
  return { op: "cache", path: statCachePath(app), data, why: "drift's stat cache" };
}

/**
 * Writes `app`'s cache again when a reading run had to read a file that
 * has settled since `scannedAt` - RACY_MS (so the next run need not),
 * through `caches`. Quiet when it cannot write (not root, a read-only
 * disk): it is only a cache.
 */
export function refreshStatCache(caches: System, app: App, upstream: Snapshot, local: Snapshot, scannedAt: number): void {
  const before = scannedAt - RACY_MS;
  const readSettled = (tree: Snapshot) => {
    for (const e of tree.entries.values()) if (e.type === "file" && e.data !== undefined && e.stamp && e.stamp.ctimeMs < before) return true;
    return false;
  };
  if (!readSettled(upstream) && !readSettled(local)) return;
  refreshCache(caches, statCacheOp(app, upstream, local, new Set(), scannedAt));
}
