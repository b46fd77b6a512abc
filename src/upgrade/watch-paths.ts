/**
 * What the watcher looks at, and what an event on a path means. Everything
 * here works on host paths (what chokidar reports), built once from server
 * paths through `hostPath`, so `--root` needs no special case.
 */
import { posix } from "node:path";
import type { App } from "../server-layout.js";
import { appPaths, isSnippetName } from "../server-layout.js";
import { isInside } from "../system/safe-path.js";
import { serverPath } from "../paths.js";
import type { HostPath, ServerPath } from "../paths.js";

/** The host paths of one app the watcher cares about. */
export interface WatchedApp {
  app: App;
  /** `/etc/APP`: watched for `Makefile*` only (not sympl-local.d: the watcher's own sync writes there). */
  dir: HostPath;
  /** `/etc/APP/sympl.d`: watched recursively. */
  upstream: HostPath;
}

/** Everything the watcher watches, as host paths. */
export interface WatchLayout {
  apps: WatchedApp[];
  /** The state dir: only the recorded-mode files in it matter. */
  stateDir: HostPath;
  /** The files holding the recorded mode (written by use/repair), directly in the state dir. */
  modeFiles: HostPath[];
}

/**
 * Why an event matters: a snippet of one app's upstream tree changed, or a
 * control file (a Makefile variant of one app, or the recorded mode, which
 * concerns every app) changed.
 */
export type EventMeaning = { kind: "snippet"; apps: App[] } | { kind: "control"; apps: App[] };

/** Builds the layout for `apps` from server paths. */
export function watchLayout(
  hostPath: (serverPath: ServerPath) => HostPath,
  apps: App[],
  stateDir: ServerPath,
  modeFiles: ServerPath[],
): WatchLayout {
  return {
    apps: apps.map((app) => {
      const p = appPaths(app);
      return { app, dir: hostPath(p.dir), upstream: hostPath(p.upstream) };
    }),
    stateDir: hostPath(stateDir),
    modeFiles: modeFiles.map(hostPath),
  };
}

/** The server path of a host path under `root` (the inverse of hostPath). */
export function serverPathOf(root: HostPath, host: HostPath): ServerPath {
  return serverPath(root === "/" ? host : host.slice(root.length) || "/");
}

/** The paths to hand to the watcher. */
export function watchRoots(layout: WatchLayout): HostPath[] {
  return [...layout.apps.map((a) => a.dir), layout.stateDir];
}

/** `Makefile`, `GNUmakefile`, `Makefile.local`, `Makefile.dpkg-new`, ...: what an upgrade or damage touches. */
export function isMakefileName(name: string): boolean {
  return name === "Makefile" || name === "GNUmakefile" || name.startsWith("Makefile.");
}

/**
 * What an event on `path` means, or null when it must not start a round:
 * files the Makefile would never build in (dot-named, underscores), other
 * files beside the Makefiles, and everything else in the state dir. In
 * sympl.d a new or removed directory counts whatever its name (`find`
 * descends every one); `isDir` is asked only for such names.
 */
export function eventMeaning(layout: WatchLayout, path: HostPath, isDir: (path: HostPath) => boolean = () => false): EventMeaning | null {
  const name = posix.basename(path);
  for (const a of layout.apps) {
    // sympl.d itself replaced counts too: its new entries come before their watches.
    if (path === a.upstream) return { kind: "snippet", apps: [a.app] };
    if (isInside(a.upstream, path)) return isSnippetName(name) || isDir(path) ? { kind: "snippet", apps: [a.app] } : null;
    if (posix.dirname(path) === a.dir && isMakefileName(name)) return { kind: "control", apps: [a.app] };
  }
  if (layout.modeFiles.includes(path)) return { kind: "control", apps: layout.apps.map((a) => a.app) };
  return null;
}

/**
 * The watcher's `ignored` test: true keeps chokidar from watching a path.
 * Only directories are watched: a directory's inotify watch already reports
 * every create, write, rename and delete of its entries (chokidar's raw
 * events), while a watch per file costs chokidar about 18 KiB each. Of the
 * directories, sympl-local.d (the watcher's own sync writes there) and the
 * state dir's subdirectories (baselines, saved copies) are left out.
 */
export function isIgnored(layout: WatchLayout, path: HostPath, stats?: { isDirectory(): boolean }): boolean {
  if (stats && !stats.isDirectory()) return true;
  if (watchRoots(layout).includes(path)) return false;
  return !layout.apps.some((a) => isInside(a.upstream, path));
}
