/**
 * Which Makefile `cd /etc/APP && make` reads, and the tree it builds from.
 * GNU make takes `GNUmakefile` before `Makefile` (docs/sympl.md): our link
 * selects the tree there, while `Makefile` stays the packaged file. An
 * earlier layout's `Makefile` link is followed the same way until `repair`
 * adopts it.
 */
import type { App, Mode } from "../server-layout.js";
import { appPaths } from "../server-layout.js";
import { resolveLinkTarget } from "../system/safe-path.js";
import type { Reader } from "../system/system.js";
import type { ServerPath } from "../paths.js";

/** The path make reads first in /etc/APP: GNUmakefile when anything is there, else Makefile. */
export function liveMakefile(sys: Reader, app: App): ServerPath {
  const p = appPaths(app);
  return sys.stat(p.gnumakefile) ? p.gnumakefile : p.makefile;
}

/**
 * The tree `app`'s live Makefile builds from: a link to one of our two
 * variants, when that variant still reads its own tree; else null.
 */
export function liveTree(sys: Reader, app: App): Mode | null {
  const { makefileLocal, makefileSympl } = appPaths(app);
  const link = liveMakefile(sys, app);
  if (sys.stat(link)?.type !== "link") return null;
  const to = resolveLinkTarget(link, sys.readLink(link));
  const mode: Mode | null = to === makefileLocal ? "local" : to === makefileSympl ? "sympl" : null;
  if (!mode || sys.stat(to)?.type !== "file") return null;
  const dir = /^snippets_dir\s*:=\s*(\S+)\s*$/m.exec(sys.readFile(to).toString("utf8"))?.[1];
  return dir === (mode === "local" ? "sympl-local.d" : "sympl.d") ? mode : null;
}
