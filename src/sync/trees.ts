/**
 * Loads the three trees of one app (baseline, sympl.d, sympl-local.d) and
 * refuses, before anything is planned, the shapes sync cannot reason about.
 */
import { EnvironmentError, InputError, problem } from "../errors.js";
import type { App } from "../layout.js";
import { appPaths } from "../layout.js";
import type { Reader } from "../system/system.js";
import type { Manifest } from "./baseline.js";
import { readManifest } from "./baseline.js";
import type { Snapshot } from "./scan.js";
import { snapshotTree } from "./scan.js";
import { readStatCache } from "./statcache.js";

/** B, U and L of one app. */
export interface Trees {
  app: App;
  upstream: Snapshot;
  local: Snapshot;
  /** Null when there is none yet (a tree made by older tooling), or when re-adopting. */
  baseline: Manifest | null;
}

/** True when `app` has a sympl-local.d directory. */
export function hasLocalTree(sys: Reader, app: App): boolean {
  return sys.stat(appPaths(app).local)?.type === "dir";
}

/** The error for an app without sympl-local.d. */
export function noLocalTree(app: App): InputError {
  return new InputError(
    problem(appPaths(app).local, "missing", "run `makefilecheck install` to create it with the email changes, or `makefilecheck use local` to create a plain copy"),
  );
}

/** Refuses a path that is a snippet in one tree and a directory in the other. */
function checkShapes(app: App, upstream: Snapshot, local: Snapshot): void {
  const clash = (snippets: Snapshot, dirs: Snapshot): string | undefined =>
    [...snippets.entries.keys()].find((rel) => dirs.dirs.has(rel));
  const upFile = clash(upstream, local);
  const localFile = clash(local, upstream);
  const rel = upFile ?? localFile;
  if (rel === undefined) return;
  const [fileSide, dirSide] = upFile !== undefined ? ["sympl.d", "sympl-local.d"] : ["sympl-local.d", "sympl.d"];
  throw new InputError(
    problem(`${appPaths(app).dir}/${dirSide}/${rel}`, `is a directory here but a file in ${fileSide}`, "make both the same kind (move one aside), then run this again; nothing was changed"),
  );
}

/**
 * Reads `app`'s trees with contents. `ignoreBaseline` skips reading the
 * manifest (for `--adopt`, which replaces even a damaged one).
 * `useStatCache` lets unchanged files go unread (their entries then carry
 * a hash but no bytes): for drift, and only with a baseline, since an
 * adoption asks the change catalogue about the bytes themselves.
 */
export function loadTrees(sys: Reader, app: App, options: { ignoreBaseline?: boolean; useStatCache?: boolean } = {}): Trees {
  const paths = appPaths(app);
  if (sys.stat(paths.upstream)?.type !== "dir") {
    throw new EnvironmentError(problem(paths.upstream, "missing or not a directory", "reinstall the Sympl package that ships it"));
  }
  if (!hasLocalTree(sys, app)) throw noLocalTree(app);
  const baseline = options.ignoreBaseline ? null : readManifest(sys, app);
  const cache = baseline && options.useStatCache ? readStatCache(sys, app) : null;
  const upstream = snapshotTree(sys, paths.upstream, { links: false, known: cache?.upstream });
  const local = snapshotTree(sys, paths.local, { links: true, appDir: paths.dir, upstreamDir: paths.upstream, known: cache?.local });
  checkShapes(app, upstream, local);
  return { app, upstream, local, baseline };
}
