/**
 * Loads the three trees of one app (baseline, sympl.d, sympl-local.d),
 * refusing before anything is planned what cannot be read safely: a
 * missing tree, a damaged baseline, a link leaving the app directory.
 */
import { EnvironmentError, problem } from "../errors.js";
import type { App } from "../server-layout.js";
import { appPaths } from "../server-layout.js";
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

/**
 * True when `app` has a sympl-local.d directory. Anything else in its
 * place (a link to elsewhere, a file) is refused rather than followed.
 */
export function hasLocalTree(sys: Reader, app: App): boolean {
  const path = appPaths(app).local;
  const st = sys.stat(path);
  if (st && st.type !== "dir") {
    throw new EnvironmentError(problem(path, `is a ${st.type === "link" ? "symlink" : st.type}, not a directory`, "make it a plain directory (move the tree it points to in place); nothing was changed"));
  }
  return st !== null;
}

/** Refuses an app whose sympl.d is missing or not a plain directory. */
export function requireUpstreamTree(sys: Reader, app: App): void {
  const path = appPaths(app).upstream;
  if (sys.stat(path)?.type !== "dir") {
    throw new EnvironmentError(problem(path, "missing or not a directory", "reinstall the Sympl package that ships it"));
  }
}

/** The error for an app without sympl-local.d: a missing tree, exit 3 like a missing sympl.d. */
export function noLocalTree(app: App): EnvironmentError {
  return new EnvironmentError(
    problem(appPaths(app).local, "missing", "run `makefilecheck install` to create it (a copy of sympl.d with the email changes)"),
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
  requireUpstreamTree(sys, app);
  if (!hasLocalTree(sys, app)) throw noLocalTree(app);
  const baseline = options.ignoreBaseline ? null : readManifest(sys, app);
  const cache = baseline && options.useStatCache ? readStatCache(sys, app) : null;
  const upstream = snapshotTree(sys, paths.upstream, { links: false, known: cache?.upstream });
  const local = snapshotTree(sys, paths.local, { links: true, appDir: paths.dir, upstreamDir: paths.upstream, known: cache?.local });
  return { app, upstream, local, baseline };
}
