/**
 * Creating sympl-local.d from sympl.d, shared by `sync`, `use` and
 * `install`: a copy of every snippet, dovecot's 60-sni as a relative link to
 * the upstream file, and the baseline recorded in the state dir.
 */
import { posix } from "node:path";
import { EnvironmentError, InputError, problem } from "../errors.js";
import type { App } from "../server-layout.js";
import { LINKED_SNIPPETS, appPaths } from "../server-layout.js";
import type { Op } from "../plan.js";
import type { Attrs, Reader } from "../system/system.js";
import { manifestOf, planBaseline, storedObjects } from "./baseline.js";
import { snapshotTree } from "./scan.js";
import { requireUpstreamTree } from "./trees.js";
import { inTree, snippetPath } from "../paths.js";
import type { SnippetPath } from "../paths.js";

/** Owner and group of /etc/APP: what every file and directory this tool creates there gets. */
export function appOwner(sys: Reader, app: App): Required<Pick<Attrs, "uid" | "gid">> {
  const st = sys.stat(appPaths(app).dir);
  if (st?.type !== "dir") throw new EnvironmentError(problem(appPaths(app).dir, "missing or not a directory", `is ${app} installed here? check --root and -a`));
  return { uid: st.uid, gid: st.gid };
}

/** The relative target that makes `sympl-local.d/REL` show `sympl.d/REL` (`../../sympl.d/10-main/60-sni`). */
export function mirrorTarget(app: App, rel: SnippetPath): string {
  const { local, upstream } = appPaths(app);
  return posix.relative(posix.dirname(`${local}/${rel}`), `${upstream}/${rel}`);
}

/** True for the paths that must stay links to their upstream file in the local tree. */
export function isLinkedPath(app: App, rel: string): boolean {
  return LINKED_SNIPPETS[app].includes(rel);
}

/** The mode of a directory in sympl.d, for its counterpart in sympl-local.d. */
export function upstreamDirMode(sys: Reader, app: App, rel: SnippetPath | null): number {
  const st = sys.stat(rel ? inTree(appPaths(app).upstream, rel) : appPaths(app).upstream);
  return st?.type === "dir" ? st.mode : 0o755;
}

/** The plan that creates `app`'s sympl-local.d and its baseline, recorded as made at `now`. */
export function planCreateLocalTree(sys: Reader, app: App, now: Date): Op[] {
  const paths = appPaths(app);
  if (sys.stat(paths.local)) throw new InputError(problem(paths.local, "already exists", "use `makefilecheck sync` to bring it up to date"));
  requireUpstreamTree(sys, app);
  const owner = appOwner(sys, app);
  const upstream = snapshotTree(sys, paths.upstream, { links: false });
  const why = "copy of sympl.d";
  const ops: Op[] = [{ op: "mkdir", path: paths.local, mode: upstreamDirMode(sys, app, null), ...owner, why }];
  for (const rel of [...upstream.dirs].sort().map(snippetPath)) {
    ops.push({ op: "mkdir", path: inTree(paths.local, rel), mode: upstreamDirMode(sys, app, rel), ...owner, why });
  }
  for (const entry of upstream.entries.values()) {
    const rel = entry.rel;
    const path = inTree(paths.local, rel);
    if (isLinkedPath(app, rel)) {
      ops.push({ op: "symlink", path, target: mirrorTarget(app, rel), ...owner, why: "Sympl rewrites the upstream file; the link keeps it live" });
    } else {
      ops.push({ op: "write", path, data: entry.data ?? Buffer.alloc(0), mode: entry.mode, ...owner, why });
    }
  }
  ops.push(...planBaseline(storedObjects(sys, app), manifestOf(app, upstream, [], now), upstream, null));
  return ops;
}
