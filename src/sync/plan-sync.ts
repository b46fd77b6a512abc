/**
 * The sync plan of one app (docs/sympl.md, sync): from the state of every
 * path, the steps that bring upstream changes into sympl-local.d without
 * losing a local byte. Every file the plan overwrites or removes is first
 * copied to the state dir's `saved/APP/STAMP/`. Planning is a pure
 * function of the app's scanned snapshot (snapshot.ts): nothing here is
 * given a System, so nothing here can read the disk.
 */
import { posix } from "node:path";
import type { ChangeId } from "../catalogue/catalogue.js";
import { applyEdits, deriveWithKnownEdits, editsFor, isMainOptionsFile, logSelectorFor } from "../catalogue/edits.js";
import { LOGGING_FILE, installedWithEdits, rederiveLogging } from "../catalogue/templates.js";
import type { App } from "../server-layout.js";
import { InputError, problem } from "../errors.js";
import type { CacheOp, Op } from "../plan.js";
import { savedRoot } from "../saved.js";
import type { BaseEntry, Manifest } from "../tree/baseline.js";
import { manifestOf, planBaseline, sameBaseline } from "../tree/baseline.js";
import { isLinkedPath, mirrorTarget } from "../tree/clone.js";
import { statCacheOp } from "../tree/statcache.js";
import type { PathState } from "./drift.js";
import { analyze } from "./drift.js";
import type { SnapshotEntry } from "../tree/scan.js";
import { SYMPL_NEW } from "../tree/scan.js";
import { mergeThreeWay } from "./merge.js";
import type { SyncSnapshot, WaitingEntry } from "./snapshot.js";
import { asText } from "./text.js";
import { childPath, inTree, serverPath, snippetPath } from "../paths.js";
import type { ServerPath } from "../paths.js";

/** What sync did (or would do) to one path. */
export type SyncAction =
  | "updated"
  | "added"
  | "removed"
  | "merged"
  | "rederived"
  | "conflict"
  | "kept"
  | "took-upstream"
  | "kept-local"
  | "kept-retired"
  | "moved";

/** One reported path. */
export interface SyncEntry {
  path: string;
  state: PathState["state"];
  action: SyncAction;
  /** For `moved`: the new upstream name the local version went to. */
  to?: string;
  /** What a re-derivation changed, in words (ch3's log_selector flags). */
  note?: string;
}

/** The admin's decisions for paths sync must not decide alone. */
export interface Settle {
  takeUpstream: Set<string>;
  keepLocal: Set<string>;
}

/** A sync plan with what it means. */
export interface SyncPlan {
  ops: Op[];
  entries: SyncEntry[];
  /** Where overwritten and removed files are kept, or null when nothing is. */
  savedDir: ServerPath | null;
  /** Paths with a `.sympl-new` waiting after this sync (left by it or before it). */
  waiting: string[];
  /** Paths still diverged after this sync. */
  unsettled: string[];
  /** True when the baseline is (re)recorded by this plan. */
  baselineChanged: boolean;
  /** The step that refreshes drift's stat cache once `ops` are applied (not one of `ops`: it changes no tree). */
  refreshCache: CacheOp;
}

/** A saved-copy directory name: a UTC time that sorts and has no colon. */
function stampOf(now: Date): string {
  return now.toISOString().replace(/\.\d+Z$/, "Z").replace(/:/g, "-");
}

/**
 * Collects steps in the order they must run: saves, removals, emptied
 * directories, new directories, writes. Removing first lets an upstream
 * file that became a directory (or the reverse) be replaced.
 */
class Steps {
  readonly saves: Op[] = [];
  readonly removals: Op[] = [];
  readonly cleanup: Op[] = [];
  readonly dirs: Op[] = [];
  readonly changes: Op[] = [];
  private readonly madeDirs = new Set<string>();
  private readonly savedDirs = new Set<string>();
  /** Relative paths (files and directories) this plan removes from the local tree. */
  readonly removed = new Set<string>();
  /** Local paths of the other kind (file where a directory must go, or the reverse) that must be removed first. */
  private readonly inTheWay = new Set<string>();

  private readonly owner: SyncSnapshot["owner"];

  constructor(
    private readonly trees: SyncSnapshot,
    readonly savedDir: ServerPath,
  ) {
    this.owner = trees.owner;
  }

  get anySaved(): boolean {
    return this.saves.length > 0;
  }

  /** Keeps the current local file or link at `rel` (a snippet or a waiting `.sympl-new`) in the saved dir. */
  save(rel: string, entry: SnapshotEntry | WaitingEntry): void {
    const path = inTree(this.savedDir, snippetPath(rel));
    const dir = serverPath(posix.dirname(path));
    if (!this.savedDirs.has(dir)) {
      this.savedDirs.add(dir);
      this.saves.push({ op: "mkdir", path: dir, mode: 0o700, why: "keep previous versions" });
    }
    const why = `previous ${posix.basename(rel)}`;
    if (entry.type === "link") this.saves.push({ op: "symlink", path, target: entry.target ?? "", why });
    else if (entry.data) this.saves.push({ op: "write", path, data: entry.data, mode: entry.mode, why });
    else throw new Error(`internal error: the snapshot lacks the bytes of ${this.trees.local.dir}/${rel}`);
  }

  /** Creates the local directories above `rel` that are missing, as their upstream counterparts. */
  parents(rel: string): void {
    const parts = rel.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      if (this.trees.local.dirs.has(dir) || this.madeDirs.has(dir)) continue;
      if (this.trees.local.entries.has(dir)) this.inTheWay.add(dir);
      this.madeDirs.add(dir);
      const mode = this.trees.upstreamDirModes.get(dir) ?? 0o755;
      this.dirs.push({ op: "mkdir", path: inTree(this.trees.local.dir, snippetPath(dir)), mode, ...this.owner, why: "new upstream directory" });
    }
  }

  /** Writes `data` at local `rel` with upstream's mode, keeping an existing file's owner. */
  write(rel: string, data: Buffer, why: string): void {
    const mine = this.trees.local.entries.get(rel);
    const up = this.trees.upstream.entries.get(rel);
    if (mine) this.save(rel, mine);
    this.parents(rel);
    this.notOverDir(rel);
    const owner = mine?.type === "file" ? { uid: mine.uid, gid: mine.gid } : this.owner;
    this.changes.push({ op: "write", path: inTree(this.trees.local.dir, snippetPath(rel)), data, mode: up?.mode ?? mine?.mode ?? 0o644, ...owner, why });
  }

  /** Makes local `rel` what upstream has: its bytes, a mirror link, or nothing. */
  takeUpstream(rel: string, why: string): void {
    const up = this.trees.upstream.entries.get(rel);
    const mine = this.trees.local.entries.get(rel);
    if (!up) return this.remove(rel, why);
    if (!isLinkedPath(this.trees.app, rel)) return this.write(rel, up.data ?? Buffer.alloc(0), why);
    if (mine?.linked) return;
    if (mine) this.save(rel, mine);
    this.parents(rel);
    this.notOverDir(rel);
    const target = mirrorTarget(this.trees.app, snippetPath(rel));
    this.changes.push({ op: "symlink", path: inTree(this.trees.local.dir, snippetPath(rel)), target, ...this.owner, why: `${why}; a link keeps Sympl's rewrites live` });
  }

  /** Removes local `rel` after saving it. */
  remove(rel: string, why: string): void {
    const mine = this.trees.local.entries.get(rel);
    if (!mine) return;
    this.save(rel, mine);
    this.removed.add(rel);
    this.removals.push({ op: "remove", path: inTree(this.trees.local.dir, snippetPath(rel)), why });
  }

  /** Notes that a local directory at `rel` must be gone before a file can be written there. */
  private notOverDir(rel: string): void {
    if (this.trees.local.dirs.has(rel)) this.inTheWay.add(rel);
  }

  /**
   * Refuses the plan when a path must change kind (file ↔ directory) but
   * the local side holds something this plan does not retire: a local
   * change that would otherwise be in the way or lost.
   */
  checkKinds(): void {
    for (const rel of this.inTheWay) {
      if (this.removed.has(rel)) continue;
      const [here, there] = this.trees.local.dirs.has(rel) ? ["a directory", "a file"] : ["a file", "a directory"];
      throw new InputError(
        problem(`${this.trees.local.dir}/${rel}`, `is ${here} here but ${there} in sympl.d, and holds local changes`, "move it aside (compare with `makefilecheck diff`), then run sync again; nothing was changed"),
      );
    }
  }

  /** Puts the upstream version beside a local file it could not be merged into. */
  besideAsNew(rel: string): void {
    const up = this.trees.upstream.entries.get(rel);
    if (!up?.data) return;
    this.parents(rel);
    const path = inTree(this.trees.local.dir, snippetPath(`${rel}${SYMPL_NEW}`));
    const waiting = this.trees.waitingEntries.get(rel);
    if (waiting) this.save(`${rel}${SYMPL_NEW}`, waiting);
    this.notOverDir(`${rel}${SYMPL_NEW}`);
    this.changes.push({ op: "write", path, data: up.data, mode: up.mode, ...this.owner, why: "upstream version to merge by hand" });
  }

  /** Removes a waiting `.sympl-new` once the admin settled its path. */
  dropWaiting(rel: string): void {
    const name = `${rel}${SYMPL_NEW}`;
    const waiting = this.trees.waitingEntries.get(rel);
    if (waiting) this.save(name, waiting);
    this.removals.push({ op: "remove", path: inTree(this.trees.local.dir, snippetPath(name)), why: "settled" });
  }

  /** Removes local directories that only held files this plan retires. */
  emptiedDirs(): void {
    const byDepth = [...this.trees.local.dirs].filter((d) => !this.trees.upstream.dirs.has(d)).sort((a, b) => b.split("/").length - a.split("/").length);
    for (const dir of byDepth) {
      const children = (this.trees.localListings.get(dir) ?? []).map((n) => `${dir}/${n}`);
      if (children.length === 0 || !children.every((c) => this.removed.has(c))) continue;
      this.removed.add(dir);
      this.cleanup.push({ op: "remove", path: inTree(this.trees.local.dir, snippetPath(dir)), why: "upstream retired this directory" });
    }
  }
}

/** The baseline's bytes of `entry`, which the scan read for every path that may need them (snapshot.ts). */
function baseBytes(trees: SyncSnapshot, rel: string, entry: BaseEntry): Buffer {
  const data = trees.baseObjects.get(entry.sha256);
  if (!data) throw new Error(`internal error: the snapshot lacks the baseline copy of ${rel}`);
  return data;
}

/** The bytes of a conflicting path merged, if the catalogue or a line merge can do it. */
function resolveBoth(trees: SyncSnapshot, rel: string, installed: ReadonlySet<ChangeId>): { data: Buffer; how: "rederived" | "merged" } | null {
  const baseEntry = trees.baseline?.files[rel];
  const up = trees.upstream.entries.get(rel)?.data;
  const mine = trees.local.entries.get(rel)?.data;
  if (!baseEntry || !up || !mine) return null;
  const base = baseBytes(trees, rel, baseEntry);
  const [baseText, upText, mineText] = [asText(base), asText(up), asText(mine)];
  if (baseText !== null && upText !== null && mineText !== null) {
    const derived = deriveWithKnownEdits(trees.app, rel, baseText, mineText, upText, installed);
    if (derived !== null) return { data: Buffer.from(derived, "utf8"), how: "rederived" };
  }
  const merged = mergeThreeWay(base, mine, up);
  return merged ? { data: merged, how: "merged" } : null;
}

/**
 * Upstream renames of files the admin changed: a retired path whose
 * baseline bytes are exactly those of one new upstream path. The local
 * version moves to the new name, so the old name does not stay built in
 * beside it (two definitions of the same thing break the config).
 */
function renamesOfChanged(trees: SyncSnapshot, states: PathState[], settle: Settle): Map<string, string> {
  const { baseline, upstream, local } = trees;
  const added = new Map<string, string[]>();
  for (const ps of states) {
    const hash = ps.state === "upstream-added" ? upstream.entries.get(ps.path)?.sha256 : undefined;
    if (hash) added.set(hash, [...(added.get(hash) ?? []), ps.path]);
  }
  const moves = new Map<string, string>();
  for (const ps of states) {
    const base = baseline?.files[ps.path];
    const mine = local.entries.get(ps.path);
    if (ps.state !== "conflict" || !base || upstream.entries.has(ps.path) || !mine?.data || settle.keepLocal.has(ps.path) || settle.takeUpstream.has(ps.path)) continue;
    const targets = added.get(base.sha256) ?? [];
    // A linked path must stay a link (Sympl rewrites its upstream file): an edit is not moved onto it.
    if (targets.length === 1 && targets[0] && !isLinkedPath(trees.app, targets[0])) {
      moves.set(ps.path, targets[0]);
      added.delete(base.sha256);
    }
  }
  return moves;
}

/**
 * An upstream change to a main-options file the local side has not
 * touched, with the edits of the changes installed locally applied (a
 * log_selector upstream adds where it had none is commented out, ch3
 * owning it); null when they change nothing.
 */
function withInstalledEdits(trees: SyncSnapshot, rel: string, installed: ReadonlySet<ChangeId>): Buffer | null {
  const up = trees.upstream.entries.get(rel)?.data;
  if (installed.size === 0 || !up || !isMainOptionsFile(rel)) return null;
  const baseEntry = trees.baseline?.files[rel];
  const base = baseEntry ? asText(baseBytes(trees, rel, baseEntry)) : "";
  const mine = trees.local.entries.get(rel)?.data;
  const [upText, mineText] = [asText(up), mine ? asText(mine) : ""];
  if (base === null || upText === null || mineText === null) return null;
  const derived = deriveWithKnownEdits(trees.app, rel, base, mineText, upText, installed);
  return derived === null || derived === upText ? null : Buffer.from(derived, "utf8");
}

/**
 * Upstream's text of a main-options file with the edits of the changes
 * installed locally made on it (ch4 comments out upstream's rfc1413
 * options, which its own file sets again): what taking upstream means
 * while those changes are installed, so that the config test passes.
 * Null when no installed change edits the file.
 */
function upstreamWithInstalledEdits(trees: SyncSnapshot, rel: string, installed: ReadonlySet<ChangeId>): Buffer | null {
  const up = trees.upstream.entries.get(rel)?.data;
  const upText = up ? asText(up) : null;
  if (upText === null || installed.size === 0) return null;
  const edited = applyEdits(editsFor(trees.app, rel).filter((e) => installed.has(e.change)), upText);
  return edited === upText ? null : Buffer.from(edited, "utf8");
}

/** Plans one path by its state; returns what to report, or null for nothing. */
function planPath(trees: SyncSnapshot, steps: Steps, ps: PathState, settle: Settle, installed: ReadonlySet<ChangeId>): SyncAction | null {
  const { path, state } = ps;
  const waiting = trees.local.waiting.includes(path);
  if (settle.takeUpstream.has(path) || settle.keepLocal.has(path)) {
    if (waiting) steps.dropWaiting(path);
    if (settle.keepLocal.has(path)) return "kept-local";
    const edited = upstreamWithInstalledEdits(trees, path, installed);
    if (edited) steps.write(path, edited, "settled: take upstream, with the edits of the installed changes");
    else steps.takeUpstream(path, "settled: take upstream");
    return "took-upstream";
  }
  switch (state) {
    case "upstream-modified":
    case "upstream-added":
      const derived = ps.derived ?? withInstalledEdits(trees, path, installed);
      if (derived) {
        steps.write(path, derived, "known local edits on the new upstream");
        return "rederived";
      }
      steps.takeUpstream(path, state === "upstream-added" ? "new upstream file" : "upstream update");
      return state === "upstream-added" ? "added" : "updated";
    case "upstream-deleted":
      steps.remove(path, "retired upstream");
      return "removed";
    case "conflict": {
      const both = resolveBoth(trees, path, installed);
      if (both) {
        steps.write(path, both.data, both.how === "merged" ? "local and upstream edits merged" : "known local edits on the new upstream");
        return both.how;
      }
      if (!trees.upstream.entries.has(path)) return "kept-retired";
      steps.besideAsNew(path);
      return "conflict";
    }
    case "diverged":
      return "kept";
    default:
      return null;
  }
}

/** What a sync plan depends on besides the snapshot. */
export interface SyncOptions {
  /** The admin's decisions (--take-upstream, --keep-local). */
  settle: Settle;
  /** The run's time: it names the saved copies and dates the baseline. */
  now: Date;
}

/**
 * Plans the sync of one app from its snapshot alone: the state of every
 * path (`analyze`), then the steps. Trees without a baseline (being
 * adopted) get one; every plan ends with the baseline recording today's
 * upstream, when that changes it.
 */
export function planSync(trees: SyncSnapshot, options: SyncOptions): SyncPlan {
  const { settle, now } = options;
  const app: App = trees.app;
  // The sync path loads the catalogue anyway: it is handed to analyze whether or not the tree is adopted.
  const states = analyze(trees, deriveWithKnownEdits);
  const steps = new Steps(trees, savedDirFor(app, now, trees.savedRuns));
  const entries: SyncEntry[] = [];
  const moves = renamesOfChanged(trees, states, settle);
  const installed = installedWithEdits(app, (rel) => textAt(trees, "local", rel));
  const movedTo = new Set(moves.values());
  for (const ps of states) {
    const to = moves.get(ps.path);
    if (to) {
      steps.write(to, trees.local.entries.get(ps.path)?.data ?? Buffer.alloc(0), `your version of ${ps.path}, which upstream renamed`);
      steps.remove(ps.path, `renamed upstream to ${to}`);
      entries.push({ path: ps.path, state: ps.state, action: "moved", to });
      continue;
    }
    if (movedTo.has(ps.path)) continue;
    const action = planPath(trees, steps, ps, settle, installed);
    if (action) entries.push({ path: ps.path, state: ps.state, action });
  }
  const logging = planLogging(trees, steps, settle);
  if (logging) entries.push(logging);
  noteDroppedFlags(trees, entries);
  steps.emptiedDirs();
  steps.checkKinds();
  const settled = (p: string) => settle.takeUpstream.has(p) || settle.keepLocal.has(p);
  const unsettled = states.filter((s) => s.state === "diverged" && !settled(s.path)).map((s) => s.path);
  const conflicts = entries.filter((e) => e.action === "conflict").map((e) => e.path);
  const waiting = [...new Set([...trees.local.waiting.filter((p) => !settled(p)), ...conflicts])].sort();
  const next: Manifest = manifestOf(app, trees.upstream, unsettled, now, mergeBasesOf(trees, waiting, conflicts));
  const baselineChanged = !sameBaseline(trees.baseline, next);
  const baselineOps = baselineChanged ? planBaseline(trees.storedObjects, next, trees.upstream, trees.baseline) : [];
  const ops = [...steps.saves, ...steps.removals, ...steps.cleanup, ...steps.dirs, ...steps.changes, ...baselineOps];
  return {
    ops,
    entries,
    savedDir: steps.anySaved ? steps.savedDir : null,
    waiting,
    unsettled,
    baselineChanged,
    refreshCache: statCacheOp(app, trees.upstream, trees.local, touchedBy(ops), trees.scannedAt),
  };
}

/**
 * The merge bases to keep for the conflicts that wait after this sync: the
 * base this sync's merge used for a conflict it found (the baseline it
 * replaces), else the one recorded when the path first conflicted. Only
 * bases whose bytes the store holds (it holds every baseline's).
 */
function mergeBasesOf(trees: SyncSnapshot, waiting: string[], conflicts: string[]): Record<string, BaseEntry> {
  const out: Record<string, BaseEntry> = {};
  for (const rel of waiting) {
    const base = conflicts.includes(rel) ? trees.baseline?.files[rel] : trees.baseline?.mergeBases?.[rel];
    if (base && trees.storedObjects.has(base.sha256)) out[rel] = base;
  }
  return out;
}

/** Server paths a plan writes, links, removes or renames: their scanned stamps are no longer true. */
function touchedBy(ops: Op[]): Set<string> {
  return new Set(ops.flatMap((op) => (op.op === "rename" ? [op.from, op.to] : op.op === "run" ? [] : [op.path])));
}

/** The texts of a snapshot's files, by path, where they are text. */
function textAt(trees: SyncSnapshot, side: "upstream" | "local", rel: string): string | null {
  const data = trees[side].entries.get(rel)?.data;
  return data ? asText(data) : null;
}

/**
 * ch3's 25-logging, when installed, re-derived for the log_selector flags
 * upstream sets now: a flag an upgrade adds is carried over and said.
 */
function planLogging(trees: SyncSnapshot, steps: Steps, settle: Settle): SyncEntry | null {
  if (settle.keepLocal.has(LOGGING_FILE) || settle.takeUpstream.has(LOGGING_FILE)) return null;
  const upstreamMain = [...trees.upstream.entries.keys()].filter(isMainOptionsFile).map((rel) => textAt(trees, "upstream", rel) ?? "");
  const next = rederiveLogging(textAt(trees, "local", LOGGING_FILE), upstreamMain);
  if (!next) return null;
  steps.write(LOGGING_FILE, Buffer.from(next.text, "utf8"), "ch3: the one log_selector, with upstream's flags");
  return { path: LOGGING_FILE, state: "local-added", action: "rederived", note: next.note };
}

/**
 * Says, on each main-options file this sync brought from upstream, which
 * of its log_selector flags 25-logging leaves out because they cancel
 * one of ch3's (ours win), while ch3 is installed.
 */
function noteDroppedFlags(trees: SyncSnapshot, entries: SyncEntry[]): void {
  if (!trees.local.entries.has(LOGGING_FILE)) return;
  for (const e of entries) {
    if (!isMainOptionsFile(e.path) || !["rederived", "updated", "added", "merged", "took-upstream"].includes(e.action)) continue;
    const { dropped } = logSelectorFor([textAt(trees, "upstream", e.path) ?? ""]);
    if (dropped.length && !e.note) e.note = `upstream's ${dropped.join(" ")} left out of ${LOGGING_FILE} (ours win)`;
  }
}

/** A saved-copy directory for this run that no earlier run used: `taken` holds the names already in saved/APP. */
export function savedDirFor(app: App, now: Date, taken: ReadonlySet<string>): ServerPath {
  const stamp = stampOf(now);
  let name = stamp;
  for (let n = 2; taken.has(name); n++) name = `${stamp}-${n}`;
  return childPath(savedRoot(app), name);
}
