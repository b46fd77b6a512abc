/**
 * The baseline store: upstream sympl.d as of the last clone, adoption or
 * sync, kept in the state dir (never in a snippet tree, where the Makefile
 * would build it in). A manifest lists each path's sha256 and mode;
 * contents are stored once per hash under `objects/` for merges and
 * `diff --base`.
 */
import { EnvironmentError, problem } from "../errors.js";
import { sha256 } from "../hash.js";
import type { App } from "../server-layout.js";
import { STATE_DIR } from "../server-layout.js";
import type { Op } from "../plan.js";
import type { Reader } from "../system/system.js";
import type { Snapshot } from "./scan.js";
import { childPath } from "../paths.js";
import type { ServerPath } from "../paths.js";

const FORMAT = "makefilecheck-baseline";
const VERSION = 1;

/** One upstream file as the baseline remembers it. */
export interface BaseEntry {
  sha256: string;
  mode: number;
}

/** The manifest of one app's baseline. */
export interface Manifest {
  format: typeof FORMAT;
  version: typeof VERSION;
  app: App;
  /** When this baseline was recorded (UTC, ISO 8601). */
  created: string;
  files: Record<string, BaseEntry>;
  /** Paths an adoption found diverged that the admin has not settled yet. */
  unsettled: string[];
  /**
   * For each path whose conflict waits as `.sympl-new`, the base the merge
   * used (the baseline before that sync), kept in the store so that
   * `diff --base` shows what upstream changed; absent when none waits.
   */
  mergeBases?: Record<string, BaseEntry>;
}

/** The directory holding `app`'s baseline. */
function baselineDir(app: App): ServerPath {
  return childPath(childPath(STATE_DIR, "baseline"), app);
}

/** The manifest's path. */
function manifestPath(app: App): ServerPath {
  return childPath(baselineDir(app), "manifest.json");
}

/** Where the baseline keeps the bytes with this hash. */
function objectPath(app: App, hash: string): ServerPath {
  return childPath(childPath(baselineDir(app), "objects"), hash);
}

function corrupt(app: App, why: string): EnvironmentError {
  return new EnvironmentError(
    problem(manifestPath(app), `baseline ${why}`, `run \`makefilecheck sync --adopt -a ${app}\` to record the current sympl.d as the new baseline`),
  );
}

/** Checks a parsed manifest field by field; throws what is wrong with it. */
function validate(app: App, raw: unknown): Manifest {
  const m = raw as Partial<Manifest> | null;
  if (!m || typeof m !== "object") throw corrupt(app, "is not a JSON object");
  if (m.format !== FORMAT || m.version !== VERSION) throw corrupt(app, "has an unknown format");
  if (m.app !== app) throw corrupt(app, `belongs to ${String(m.app)}, not ${app}`);
  if (typeof m.created !== "string" || !m.files || typeof m.files !== "object" || !Array.isArray(m.unsettled)) {
    throw corrupt(app, "is incomplete");
  }
  // Keys, not entries: a manifest may list 10,000 files, and each entry pair is garbage.
  for (const rel of Object.keys(m.files)) {
    const entry = m.files[rel];
    if (!isPlainSnippetPath(rel)) throw corrupt(app, `names a bad path ${JSON.stringify(rel)}`);
    if (!entry || typeof entry.sha256 !== "string" || !SHA256_HEX.test(entry.sha256) || !Number.isInteger(entry.mode)) {
      throw corrupt(app, `has a bad entry for ${rel}`);
    }
  }
  if (!m.unsettled.every((rel) => typeof rel === "string" && isPlainSnippetPath(rel))) throw corrupt(app, "lists a bad unsettled path");
  if (m.mergeBases !== undefined) {
    if (!m.mergeBases || typeof m.mergeBases !== "object") throw corrupt(app, "has bad merge bases");
    for (const rel of Object.keys(m.mergeBases)) {
      const entry = m.mergeBases[rel];
      if (!isPlainSnippetPath(rel) || !entry || typeof entry.sha256 !== "string" || !SHA256_HEX.test(entry.sha256) || !Number.isInteger(entry.mode)) throw corrupt(app, `has a bad merge base for ${rel}`);
    }
  }
  return m as Manifest;
}

/** A sha256 as the manifest writes it. */
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Directory parts that are neither empty, `.` nor `..`, then a snippet
 * name (isSnippetName's rule): one regex, as a manifest may list 10,000.
 */
const PLAIN_SNIPPET_PATH = /^(?:(?!\.\.?\/)[^/\0]+\/)*[a-z0-9][a-z0-9-]+$/;

/** A relative path without climbing parts whose last part is a snippet name. */
function isPlainSnippetPath(rel: string): boolean {
  return PLAIN_SNIPPET_PATH.test(rel);
}

/** Reads `app`'s manifest: null when there is none, an error when it is unusable. */
export function readManifest(sys: Reader, app: App): Manifest | null {
  const path = manifestPath(app);
  const st = sys.stat(path);
  if (!st) return null;
  if (st.type !== "file") throw corrupt(app, "is not a regular file");
  let raw: unknown;
  try {
    raw = JSON.parse(sys.readFile(path).toString("utf8"));
  } catch {
    throw corrupt(app, "is not valid JSON");
  }
  return validate(app, raw);
}

/** The baseline's bytes for one path, checked against the manifest's hash. */
export function readBaseObject(sys: Reader, app: App, entry: BaseEntry): Buffer {
  const path = objectPath(app, entry.sha256);
  if (sys.stat(path)?.type !== "file") throw corrupt(app, `lacks the stored file ${path}`);
  const data = sys.readFile(path);
  if (sha256(data) !== entry.sha256) throw corrupt(app, `has a damaged stored file ${path}`);
  return data;
}

/** The hashes whose bytes `app`'s baseline store holds (as regular files). */
export function storedObjects(sys: Reader, app: App): Set<string> {
  const dir = childPath(baselineDir(app), "objects");
  if (sys.stat(dir)?.type !== "dir") return new Set();
  return new Set(sys.listDetailed(dir, () => false).filter((e) => e.type === "file").map((e) => e.name));
}

/** The manifest that records `upstream` as the baseline, with the merge bases of the conflicts still waiting. */
export function manifestOf(app: App, upstream: Snapshot, unsettled: string[], created: Date, mergeBases: Record<string, BaseEntry> = {}): Manifest {
  const files: Record<string, BaseEntry> = {};
  for (const [rel, entry] of upstream.entries) {
    if (entry.sha256) files[rel] = { sha256: entry.sha256, mode: entry.mode };
  }
  const bases = Object.keys(mergeBases).length ? { mergeBases: Object.fromEntries(Object.entries(mergeBases).sort(([a], [b]) => (a < b ? -1 : 1))) } : {};
  return { format: FORMAT, version: VERSION, app, created: created.toISOString(), files, unsettled: [...unsettled].sort(), ...bases };
}

/** True when two manifests record the same files, unsettled paths and merge bases (time aside). */
export function sameBaseline(a: Manifest | null, b: Manifest): boolean {
  if (!a) return false;
  return JSON.stringify([a.files, a.unsettled, a.mergeBases ?? {}]) === JSON.stringify([b.files, b.unsettled, b.mergeBases ?? {}]);
}

/** The hashes a manifest needs in the store: its files' and its merge bases'. */
function neededObjects(m: Manifest | null): Set<string> {
  return new Set([...Object.values(m?.files ?? {}), ...Object.values(m?.mergeBases ?? {})].map((e) => e.sha256));
}

/**
 * The steps that store `next` as `app`'s baseline: objects not yet stored,
 * then the manifest (last, so a cut-short run never names a missing
 * object), then the objects only the previous manifest used. `stored` is
 * what the store holds now (storedObjects): planning reads no disk.
 */
export function planBaseline(stored: ReadonlySet<string>, next: Manifest, upstream: Snapshot, previous: Manifest | null): Op[] {
  const app = next.app;
  const ops: Op[] = [{ op: "mkdir", path: childPath(baselineDir(app), "objects"), mode: 0o700, why: "baseline store" }];
  const written = new Set<string>();
  for (const [rel, base] of Object.entries(next.files)) {
    const path = objectPath(app, base.sha256);
    if (written.has(base.sha256) || stored.has(base.sha256)) continue;
    written.add(base.sha256);
    const data = upstream.entries.get(rel)?.data;
    if (!data) throw new Error(`internal error: no upstream bytes for ${rel}`);
    ops.push({ op: "write", path, data, mode: 0o600, why: `baseline copy of sympl.d/${rel}` });
  }
  const json = Buffer.from(`${JSON.stringify(next, null, 1)}\n`);
  ops.push({ op: "write", path: manifestPath(app), data: json, mode: 0o600, why: "baseline manifest" });
  const kept = neededObjects(next);
  const dropped = new Set([...neededObjects(previous)].filter((h) => !kept.has(h)));
  for (const hash of dropped) {
    if (stored.has(hash)) ops.push({ op: "remove", path: objectPath(app, hash), why: "no longer in the baseline" });
  }
  return ops;
}
