/**
 * Gathers, for one app, everything profile detection looks at: the types of
 * the trees, the Makefile and its variants (text, or link target), the dpkg
 * leftovers beside them and the recorded mode. Reading only; detection and
 * planning are pure functions over this snapshot.
 */
import type { App } from "../server-layout.js";
import { appPaths } from "../server-layout.js";
import { isInside, resolveLinkTarget } from "../system/safe-path.js";
import type { Entry, Reader } from "../system/system.js";
import type { Recorded } from "./state.js";
import { readRecorded } from "./state.js";
import { childPath } from "../paths.js";
import type { ServerPath } from "../paths.js";

/** What sits at a path: its type, and the text of a plain file or the target of a link. */
export interface Seen {
  path: ServerPath;
  kind: Entry["type"] | "missing";
  /** Permission bits of a file. */
  perm?: number;
  /** A link's target exactly as stored (absolute for the old tooling, relative for ours). */
  target?: string;
  /** A link's target as the server path it names (relative targets taken from the link's directory). */
  to?: ServerPath;
  /** A plain file's text. */
  text?: string;
}

/** The snapshot of one app's setup. */
export interface Observation {
  app: App;
  appDir: Seen["kind"];
  upstream: Seen["kind"];
  local: Seen["kind"];
  /** The packaged Makefile, a plain file in our layout (a link in the earlier ones). */
  makefile: Seen;
  /** The link selecting the tree, which make reads first. */
  gnumakefile: Seen;
  makefileLocal: Seen;
  makefileSympl: Seen;
  /** What the selecting link (GNUmakefile, else a Makefile link) points at when that is neither variant (inside /etc/APP only). */
  linkTarget: Seen | null;
  /** `Makefile*.dpkg-*` and `Makefile*.ucf-*` files beside the Makefile, by path order. */
  leftovers: Seen[];
  recorded: Recorded | null;
  /**
   * What dpkg recorded for the Makefile conffile, when the command asked
   * (`withPackaged`): the package, the md5, and a text on this server with
   * that md5, if any. Null when no package owns it.
   */
  packaged?: Packaged | null;
  /** Owner and group of /etc/APP, which new files take. */
  owner: { uid: number; gid: number } | null;
}

/** dpkg's record of the Makefile conffile, and the text that matches it. */
export interface Packaged {
  pkg: string;
  md5: string;
  /** A text found on this server whose md5 is the recorded one; null when none is. */
  text: string | null;
}

/** A leftover of a package upgrade next to the Makefile (never one we already consumed). */
function isMakefileLeftover(name: string): boolean {
  return /^Makefile[^/]*\.(dpkg-(dist|old|new|bak)|ucf-(dist|old|new))$/.test(name);
}

/** Reads one path without following a link. */
function see(sys: Reader, path: ServerPath): Seen {
  const st = sys.stat(path);
  if (!st) return { path, kind: "missing" };
  if (st.type === "link") {
    const target = sys.readLink(path);
    return { path, kind: "link", target, to: resolveLinkTarget(path, target) };
  }
  if (st.type === "file") return { path, kind: "file", perm: st.mode, text: sys.readFile(path).toString("utf8") };
  return { path, kind: st.type };
}

/** Snapshots `app`'s setup as it is on disk now. */
export function observe(sys: Reader, app: App): Observation {
  const p = appPaths(app);
  const dir = sys.stat(p.dir);
  const kindOf = (path: ServerPath): Seen["kind"] => sys.stat(path)?.type ?? "missing";
  const obs: Observation = {
    app,
    appDir: dir?.type ?? "missing",
    upstream: "missing",
    local: "missing",
    makefile: { path: p.makefile, kind: "missing" },
    gnumakefile: { path: p.gnumakefile, kind: "missing" },
    makefileLocal: { path: p.makefileLocal, kind: "missing" },
    makefileSympl: { path: p.makefileSympl, kind: "missing" },
    linkTarget: null,
    leftovers: [],
    recorded: readRecorded(sys, app),
    owner: dir ? { uid: dir.uid, gid: dir.gid } : null,
  };
  if (dir?.type !== "dir") return obs;
  obs.upstream = kindOf(p.upstream);
  obs.local = kindOf(p.local);
  obs.makefile = see(sys, p.makefile);
  obs.gnumakefile = see(sys, p.gnumakefile);
  obs.makefileLocal = see(sys, p.makefileLocal);
  obs.makefileSympl = see(sys, p.makefileSympl);
  const selector = selectorOf(obs);
  if (selector.kind === "link") {
    const to = selector.to!;
    const isVariant = to === p.makefileLocal || to === p.makefileSympl;
    if (!isVariant && isInside(p.dir, to) && to !== p.makefile && to !== p.gnumakefile) obs.linkTarget = see(sys, to);
  }
  obs.leftovers = sys
    .list(p.dir)
    .filter(isMakefileLeftover)
    .map((name) => see(sys, childPath(p.dir, name)));
  return obs;
}

/** What make reads first: GNUmakefile when anything is there, else Makefile. */
export function selectorOf(obs: Observation): Seen {
  return obs.gnumakefile.kind !== "missing" ? obs.gnumakefile : obs.makefile;
}
