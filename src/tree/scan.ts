/**
 * Reads a snippet tree the way the Makefile's `find` does: every directory
 * is descended (links to directories are not), and a regular file whose
 * basename passes isSnippetName is a snippet; in the local tree a symlink
 * with such a name is one too (`-type f,l`). `scanTree` reads metadata only;
 * `snapshotTree` adds each snippet's bytes and sha256, reading every file
 * exactly once, which is what drift and sync compare.
 */
import { EnvironmentError, problem } from "../errors.js";
import { sha256 } from "../hash.js";
import { isSnippetName } from "../server-layout.js";
import { followLinks, isInside, resolveLinkTarget } from "../system/safe-path.js";
import type { Entry, Reader } from "../system/system.js";
import { inTree, isPlainName, snippetChild } from "../paths.js";
import type { ServerPath, SnippetPath } from "../paths.js";

/** One snippet as found on disk; `target` is set for links. */
export interface ScannedSnippet {
  rel: SnippetPath;
  type: "file" | "link";
  mode: number;
  uid: number;
  gid: number;
  target?: string;
  /** Inode, size and change times, when the System reports them: an unchanged stamp means unchanged bytes. */
  stamp?: Stamp;
}

/** What tells a file that may have changed from one that has not, without reading it. */
export interface Stamp {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

/** A scanned tree: its snippets by relative path, and the directories seen. */
export interface Scan {
  snippets: Map<string, ScannedSnippet>;
  /** Relative paths of directories below the tree's top. */
  dirs: Set<string>;
  /** Relative paths with a snippet name that are neither file nor wanted link (e.g. a link in sympl.d, a fifo). */
  skipped: string[];
  /** Relative paths of snippets with an upstream version waiting beside them (`NAME.sympl-new`). */
  waiting: string[];
}

/** The suffix sync gives the upstream version of a file it could not merge. */
export const SYMPL_NEW = ".sympl-new";

/**
 * Scans `dir` (a server path). `links` says whether symlinks count as
 * snippets, as they do for Makefile.local. Entries come out sorted by path,
 * the order the Makefile concatenates them in.
 */
export function scanTree(sys: Reader, dir: ServerPath, options: { links: boolean }): Scan {
  const scan: Scan = { snippets: new Map(), dirs: new Set(), skipped: [], waiting: [] };
  const found: ScannedSnippet[] = [];
  // Only a name that may be a snippet needs its lstat: directories and the rest are told by the listing.
  const wanted = (name: string, type: Entry["type"]) => (type === "file" || (type === "link" && options.links)) && isSnippetName(name);
  const walk = (rel: SnippetPath | null): void => {
    for (const item of sys.listDetailed(rel ? inTree(dir, rel) : dir, wanted)) {
      const { name, entry } = item;
      if (entry === null) continue; // gone since the listing
      // The Makefile's find -regex matches no path with a newline in it: nothing below such a name is built in.
      if (!isPlainName(name)) continue;
      const childRel = snippetChild(rel, name);
      const type = entry?.type ?? item.type;
      if (type === "dir") {
        scan.dirs.add(childRel);
        walk(childRel);
        continue;
      }
      if (!isSnippetName(name)) {
        if (name.endsWith(SYMPL_NEW) && isSnippetName(name.slice(0, -SYMPL_NEW.length))) {
          scan.waiting.push(childRel.slice(0, -SYMPL_NEW.length));
        }
        continue;
      }
      if (entry && (type === "file" || (type === "link" && options.links))) found.push(snippetOf(sys, dir, childRel, entry));
      else scan.skipped.push(childRel);
    }
  };
  walk(null);
  // Each directory was listed in order, so this sort only moves a few runs past each other.
  found.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  for (const snippet of found) scan.snippets.set(snippet.rel, snippet);
  return scan;
}

/** The scanned form of one snippet file or link; the lstat's numbers serve as the stamp, without a copy. */
function snippetOf(sys: Reader, dir: ServerPath, rel: SnippetPath, entry: Entry): ScannedSnippet {
  const { type, mode, uid, gid } = entry;
  const snippet: ScannedSnippet = { rel, type: type as ScannedSnippet["type"], mode, uid, gid };
  if (entry.ino !== undefined && entry.mtimeMs !== undefined && entry.ctimeMs !== undefined) snippet.stamp = entry as Stamp;
  if (type === "link") snippet.target = sys.readLink(inTree(dir, rel));
  return snippet;
}

/** A snippet with what the Makefile would concatenate for it. */
export interface SnapshotEntry extends ScannedSnippet {
  /**
   * Set when this is a link to its own upstream counterpart (dovecot's
   * 60-sni): it always shows the upstream file, so its content is not ours
   * to compare and is not read.
   */
  linked?: boolean;
  /** The bytes `cat` would output (a link's final target); absent when linked or known from the stat cache. */
  data?: Buffer;
  sha256?: string;
}

/** A tree with contents: what the three-way comparison works on. */
export interface Snapshot {
  dir: ServerPath;
  entries: Map<string, SnapshotEntry>;
  dirs: Set<string>;
  waiting: string[];
}

/**
 * Follows a local snippet link the way a chroot at --root would, refusing
 * every hop that leaves `appDir`: the host would otherwise follow an
 * absolute target to the real /etc. Returns the final server path.
 */
function followLink(sys: Reader, linkPath: ServerPath, appDir: ServerPath): ServerPath {
  const refuse = (what: string, fix = "fix or remove the link; nothing was changed") => new EnvironmentError(problem(linkPath, what, fix));
  const end = followLinks(sys, linkPath, () => refuse("symlink loop"), (target) => {
    if (!isInside(appDir, target)) {
      throw refuse(`symlink points outside ${appDir} (to ${target})`, "replace it with a file, or a link inside the app directory; nothing was changed");
    }
  });
  const st = sys.stat(end);
  if (!st) throw refuse(`symlink points to ${end}, which does not exist`);
  if (st.type !== "file") throw refuse(`symlink points to ${end}, which is a ${st.type}, not a file`);
  return end;
}

/** Gives the sha256 of a regular file whose stamp is unchanged since it was last hashed. */
export type KnownHash = (rel: SnippetPath, stamp: Stamp) => string | undefined;

/**
 * Scans `dir` and reads every snippet once. For the local tree pass
 * `links` (links count as snippets, as in Makefile.local), the app
 * directory every link must stay inside, and the upstream tree whose
 * files a link may mirror. With `known`, a regular file whose stamp it
 * knows is not read: its entry has the hash but no `data`.
 */
export function snapshotTree(
  sys: Reader,
  dir: ServerPath,
  options: ({ links: false } | { links: true; appDir: ServerPath; upstreamDir: ServerPath }) & { known?: KnownHash },
): Snapshot {
  const scan = scanTree(sys, dir, { links: options.links });
  // The scan's objects become the snapshot's (no copies: drift handles tens of thousands).
  const entries = scan.snippets as Map<string, SnapshotEntry>;
  for (const entry of entries.values()) {
    const rel = entry.rel;
    const path = inTree(dir, rel);
    let source = path;
    if (entry.type === "link" && options.links) {
      // Checked before following: a mirror of a retired upstream file dangles, and sync removes it.
      if (resolveLinkTarget(path, entry.target ?? "") === inTree(options.upstreamDir, rel)) {
        entry.linked = true;
        continue;
      }
      source = followLink(sys, path, options.appDir);
    }
    const cached = entry.type === "file" && entry.stamp ? options.known?.(rel, entry.stamp) : undefined;
    if (cached) {
      entry.sha256 = cached;
      continue;
    }
    // A file's own lstat gives its size; a link's target was not lstat'ed here.
    entry.data = sys.readFile(source, entry.type === "file" ? entry.stamp?.size : undefined);
    entry.sha256 = sha256(entry.data);
  }
  return { dir, entries, dirs: scan.dirs, waiting: scan.waiting };
}
