/**
 * The one scan a sync plan is computed from (docs/architecture.md, sync):
 * the three trees of an app with contents, and everything else the plan
 * looks at on the disk, read through the System before planning starts.
 * `planSync` is then a pure function of it, with no System to read from.
 */
import { isMainOptionsFile } from "../catalogue/edits.js";
import type { App } from "../server-layout.js";
import { savedRoot } from "../saved.js";
import type { Reader } from "../system/system.js";
import { readBaseObject, storedObjects } from "../tree/baseline.js";
import { appOwner } from "../tree/clone.js";
import { SYMPL_NEW } from "../tree/scan.js";
import type { Trees } from "../tree/trees.js";
import { loadTrees } from "../tree/trees.js";
import { inTree, snippetPath } from "../paths.js";
import type { ServerPath } from "../paths.js";

/** A waiting `NAME.sympl-new` as found: a file with its bytes, or a link with its target. */
export type WaitingEntry = { type: "file"; data: Buffer; mode: number } | { type: "link"; target: string };

/** Everything one app's sync plan is computed from. */
export interface SyncSnapshot extends Trees {
  /** Owner and group of /etc/APP: what the files and directories sync creates get. */
  owner: { uid: number; gid: number };
  /** Modes of the sympl.d directories that sympl-local.d lacks, by relative path. */
  upstreamDirModes: ReadonlyMap<string, number>;
  /** Every name in each sympl-local.d directory that sympl.d lacks (a sync may leave it empty). */
  localListings: ReadonlyMap<string, readonly string[]>;
  /** Each waiting `.sympl-new`, by the snippet path it waits beside. */
  waitingEntries: ReadonlyMap<string, WaitingEntry>;
  /** The baseline's bytes, by hash, of every path a merge or a re-derivation may need. */
  baseObjects: ReadonlyMap<string, Buffer>;
  /** The hashes the baseline store already holds. */
  storedObjects: ReadonlySet<string>;
  /** The names already in `saved/APP`, so a run keeps its copies in a directory of its own. */
  savedRuns: ReadonlySet<string>;
  /** When the scan began (ms since the epoch): only files settled before then go into drift's stat cache. */
  scannedAt: number;
}

/**
 * True when planning may need the baseline's bytes of `rel`: upstream
 * changed it, and either the local side changed it too (a merge) or it is
 * a main-options file (the installed changes' edits re-applied).
 */
function needsBase(trees: Trees, rel: string, baseHash: string): boolean {
  const up = trees.upstream.entries.get(rel);
  if (!up?.sha256 || up.sha256 === baseHash) return false;
  const mine = trees.local.entries.get(rel);
  return isMainOptionsFile(rel) || (mine !== undefined && !mine.linked && mine.sha256 !== baseHash);
}

/** A waiting `.sympl-new` as lstat finds it; null when it is neither file nor link (or gone). */
function waitingEntry(sys: Reader, path: ServerPath): WaitingEntry | null {
  const st = sys.stat(path);
  if (st?.type === "file") return { type: "file", data: sys.readFile(path, st.size), mode: st.mode };
  if (st?.type === "link") return { type: "link", target: sys.readLink(path) };
  return null;
}

/** The names in `dir`, or none when it is not a directory. */
function namesIn(sys: Reader, dir: ServerPath): string[] {
  return sys.stat(dir)?.type === "dir" ? sys.list(dir) : [];
}

/**
 * Scans `app` for a sync, refusing what cannot be read safely (see
 * loadTrees). `adopt` ignores the recorded baseline (`sync --adopt`).
 */
export function scanForSync(sys: Reader, app: App, options: { adopt?: boolean } = {}): SyncSnapshot {
  const scannedAt = Date.now();
  const trees = loadTrees(sys, app, { ignoreBaseline: options.adopt });
  const { upstream, local, baseline } = trees;
  const upstreamDirModes = new Map<string, number>();
  for (const rel of upstream.dirs) {
    if (local.dirs.has(rel)) continue;
    const st = sys.stat(inTree(upstream.dir, snippetPath(rel)));
    if (st?.type === "dir") upstreamDirModes.set(rel, st.mode);
  }
  const localListings = new Map<string, string[]>();
  for (const rel of local.dirs) if (!upstream.dirs.has(rel)) localListings.set(rel, namesIn(sys, inTree(local.dir, snippetPath(rel))));
  const waitingEntries = new Map<string, WaitingEntry>();
  for (const rel of local.waiting) {
    const entry = waitingEntry(sys, inTree(local.dir, snippetPath(`${rel}${SYMPL_NEW}`)));
    if (entry) waitingEntries.set(rel, entry);
  }
  const baseObjects = new Map<string, Buffer>();
  for (const [rel, entry] of Object.entries(baseline?.files ?? {})) {
    if (!baseObjects.has(entry.sha256) && needsBase(trees, rel, entry.sha256)) baseObjects.set(entry.sha256, readBaseObject(sys, app, entry));
  }
  return {
    ...trees,
    owner: appOwner(sys, app),
    upstreamDirModes,
    localListings,
    waitingEntries,
    baseObjects,
    storedObjects: storedObjects(sys, app),
    savedRuns: new Set(namesIn(sys, savedRoot(app))),
    scannedAt,
  };
}

