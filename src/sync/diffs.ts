/**
 * Unified diffs between two versions of a snippet, for `diff`: upstream
 * against local, or (`--base`) the baseline against upstream.
 */
import { createTwoFilesPatch } from "diff";
import type { Reader } from "../system/system.js";
import { readBaseObject } from "../tree/baseline.js";
import type { BaseEntry } from "../tree/baseline.js";
import { asText } from "./text.js";
import type { Trees } from "../tree/trees.js";

/** One side of a comparison: its label and bytes (undefined when the file is absent). */
interface Side {
  label: string;
  data: Buffer | undefined;
}

/** The diff of one path: a patch, or a note that the files are binary. */
export interface PathDiff {
  path: string;
  patch?: string;
  binary?: boolean;
}

/** The value of a line defining the Spamhaus key (ch10's 35-spamhaus-key): never printed. */
const KEY_LINE = /^(\s*SPAMHAUS_DQ_KEY\s*=\s*)\S.*$/gm;

/** `text` with the Spamhaus key's value masked, for output (text and --json alike). */
function masked(text: string): string {
  return text.replace(KEY_LINE, "$1********");
}

/** The unified diff from `a` to `b`, or null when they are the same. */
function patchOf(path: string, a: Side, b: Side): PathDiff | null {
  if (a.data && b.data && a.data.equals(b.data)) return null;
  if (!a.data && !b.data) return null;
  const aText = a.data ? asText(a.data) : "";
  const bText = b.data ? asText(b.data) : "";
  if (aText === null || bText === null) return { path, binary: true };
  const patch = createTwoFilesPatch(a.data ? a.label : "/dev/null", b.data ? b.label : "/dev/null", masked(aText), masked(bText));
  // The library starts with a row of `=`; diff(1) and git do not.
  return { path, patch: patch.replace(/^=+\n/, "") };
}

/** The paths to diff: `paths`, or every path of the three trees. */
function pathsOf(trees: Trees, paths: string[] | undefined): string[] {
  const { upstream, local, baseline } = trees;
  return paths ?? [...new Set([...upstream.entries.keys(), ...local.entries.keys(), ...Object.keys(baseline?.files ?? {})])].sort();
}

/**
 * The baseline's bytes, by hash, that `diff --base` of `paths` shows: those
 * of every path upstream changed since. Read before diffing, so that
 * diffTrees reads nothing.
 */
export function baseObjectsFor(sys: Reader, trees: Trees, paths: string[] | undefined): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const path of pathsOf(trees, paths)) {
    const { entry } = baseOf(trees, path);
    if (entry && !out.has(entry.sha256) && entry.sha256 !== trees.upstream.entries.get(path)?.sha256) out.set(entry.sha256, readBaseObject(sys, trees.app, entry));
  }
  return out;
}

/**
 * What `diff --base` compares upstream with for `path`: while its conflict
 * waits as `.sympl-new`, the base that sync's merge used (the baseline has
 * moved on to today's upstream since, and would show nothing); else the
 * baseline.
 */
function baseOf(trees: Trees, path: string): { entry: BaseEntry | undefined; label: string } {
  const merge = trees.local.waiting.includes(path) ? trees.baseline?.mergeBases?.[path] : undefined;
  return merge ? { entry: merge, label: `merge-base/${path}` } : { entry: trees.baseline?.files[path], label: `baseline/${path}` };
}

/**
 * Diffs of `paths` (every path of the trees when undefined). `bases`, the
 * baseline's bytes from baseObjectsFor, makes it compare the baseline
 * with upstream instead of upstream with local. Linked paths show the
 * upstream file itself and never differ.
 */
export function diffTrees(trees: Trees, paths: string[] | undefined, bases?: ReadonlyMap<string, Buffer>): PathDiff[] {
  const { upstream, local, baseline } = trees;
  const out: PathDiff[] = [];
  for (const path of pathsOf(trees, paths)) {
    const up: Side = { label: `sympl.d/${path}`, data: upstream.entries.get(path)?.data };
    let d: PathDiff | null;
    if (bases) {
      const { entry, label } = baseOf(trees, path);
      if (entry && entry.sha256 === upstream.entries.get(path)?.sha256) continue;
      d = patchOf(path, { label, data: entry && bases.get(entry.sha256) }, up);
    } else {
      const mine = local.entries.get(path);
      d = mine?.linked ? null : patchOf(path, up, { label: `sympl-local.d/${path}`, data: mine?.data });
    }
    if (d) out.push(d);
  }
  return out;
}
