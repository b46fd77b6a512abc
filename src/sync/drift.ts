/**
 * Drift between sympl-local.d and sympl.d: the three-way state of every
 * snippet path, for `drift`, `sync` and the counts `status` shows.
 */
import { UserError } from "../errors.js";
import type { App } from "../server-layout.js";
import type { Reader, System } from "../system/system.js";
import type { KnownEdit, LocalFact, State } from "./classify.js";
import { ACTION_STATES, classify } from "./classify.js";
import type { SnapshotEntry } from "../tree/scan.js";
import { refreshStatCache } from "../tree/statcache.js";
import { asText } from "./text.js";
import type { Trees } from "../tree/trees.js";
import { hasLocalTree, loadTrees } from "../tree/trees.js";

/** One snippet path and its state; `derived` carries a re-derived known edit for sync. */
export interface PathState {
  path: string;
  state: State;
  /** For an adopted file whose local edit the catalogue knows: those edits on today's upstream. */
  derived?: Buffer;
}

/** Counts of snippet states; null when there is no local tree to compare. */
export interface DriftSummary {
  /** How many snippets are in each non-clean state, e.g. {"upstream-modified": 2}; `waiting` counts `.sympl-new` files. */
  counts: Record<string, number>;
  /** True when something needs the admin or a sync (exit 1 of `drift`). */
  actionNeeded: boolean;
  /** Set when the trees could not be compared (the one-line reason). */
  problem?: string;
  /** False for a tree no sync has adopted yet (made by older tooling): `makefilecheck sync` records one. */
  baseline?: boolean;
  /** Snippets with upstream's version waiting beside them (`PATH.sympl-new`), after a conflict. */
  waiting?: string[];
  /** Snippets that differ from upstream with no baseline to say who changed them. */
  diverged?: string[];
}

function localFact(entry: SnapshotEntry | undefined): LocalFact | undefined {
  if (!entry) return undefined;
  return entry.linked ? { linked: true } : { sha256: entry.sha256 ?? "" };
}

/** The change catalogue's re-derivation of its known edits (`deriveWithKnownEdits` of catalogue/edits.ts). */
export type Derive = typeof import("../catalogue/edits.js").deriveWithKnownEdits;

/**
 * What `analyze` needs to compare `trees`: the catalogue's re-derivation
 * for a tree no sync has adopted yet, else nothing. Loaded only then:
 * `status` on an adopted tree need not load the catalogue.
 */
export async function knownEditsFor(trees: Trees): Promise<Derive | null> {
  return trees.baseline ? null : (await import("../catalogue/edits.js")).deriveWithKnownEdits;
}

/**
 * Asks the change catalogue whether an adopted local file is today's
 * upstream plus known edits. Only text can carry such edits.
 */
function knownEdit(derive: Derive, app: App, rel: string, up: SnapshotEntry, local: SnapshotEntry): { kind: KnownEdit; derived?: Buffer } {
  const upText = up.data && asText(up.data);
  const localText = local.data && asText(local.data);
  if (!upText || !localText) return { kind: "none" };
  const derived = derive(app, rel, upText, localText, upText);
  if (derived === null) return { kind: "none" };
  if (derived === localText) return { kind: "same" };
  return { kind: "rederive", derived: Buffer.from(derived, "utf8") };
}

/** The state of every path in any of the three trees, sorted by path; `derive` from knownEditsFor(trees). */
export function analyze(trees: Trees, derive: Derive | null): PathState[] {
  const { app, upstream, local, baseline } = trees;
  if (!baseline && !derive) throw new Error("internal error: a tree without a baseline is compared without the catalogue's known edits");
  const files = baseline?.files ?? {};
  // Each source is already sorted or nearly so: gathering them as runs keeps the one sort cheap.
  const paths = [...upstream.entries.keys()];
  for (const path of local.entries.keys()) if (!upstream.entries.has(path)) paths.push(path);
  for (const path of Object.keys(files)) if (!upstream.entries.has(path) && !local.entries.has(path)) paths.push(path);
  const unsettled = new Set(baseline?.unsettled ?? []);
  const out: PathState[] = [];
  for (const path of paths.sort()) {
    const up = upstream.entries.get(path);
    const mine = local.entries.get(path);
    const edit = !baseline && derive && up && mine && !mine.linked && up.sha256 !== mine.sha256 ? knownEdit(derive, app, path, up, mine) : undefined;
    const state = classify({
      hasBase: baseline !== null,
      base: files[path]?.sha256,
      up: up?.sha256,
      local: localFact(mine),
      unsettled: unsettled.has(path),
      knownEdit: edit?.kind,
    });
    out.push(edit?.derived ? { path, state, derived: edit.derived } : { path, state });
  }
  return out;
}

/** True when a sync or the admin has something to do. */
export function needsAction(states: PathState[], waiting: string[]): boolean {
  return waiting.length > 0 || states.some((s) => ACTION_STATES.has(s.state));
}

/**
 * Summarises `app`'s drift for `status`; a tree that cannot be read gives
 * `problem`, not an exception. With `caches`, the stat cache is refreshed
 * when files had to be read that have settled since `scannedAt`.
 */
export async function summarizeDrift(sys: Reader, app: App, caches?: System, scannedAt = Date.now()): Promise<DriftSummary | null> {
  try {
    if (!hasLocalTree(sys, app)) return null;
    const trees = loadTrees(sys, app, { useStatCache: true });
    if (caches && trees.baseline) refreshStatCache(caches, app, trees.upstream, trees.local, scannedAt);
    const states = analyze(trees, await knownEditsFor(trees));
    const counts: Record<string, number> = {};
    for (const { state } of states) if (state !== "clean") counts[state] = (counts[state] ?? 0) + 1;
    if (trees.local.waiting.length) counts.waiting = trees.local.waiting.length;
    const diverged = states.filter((s) => s.state === "diverged").map((s) => s.path);
    return { counts, actionNeeded: needsAction(states, trees.local.waiting), baseline: trees.baseline !== null, waiting: trees.local.waiting, diverged };
  } catch (err) {
    if (err instanceof UserError) return { counts: {}, actionNeeded: true, problem: err.message };
    throw err;
  }
}
