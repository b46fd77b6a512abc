/**
 * Reads a snippet tree the way the Makefile's `find` does: every directory
 * is descended (links to directories are not), and a regular file whose
 * basename passes isSnippetName is a snippet; in the local tree a symlink
 * with such a name is one too (`-type f,l`). Nothing is read but metadata:
 * contents are read on demand by whoever needs them.
 */
import { isSnippetName } from "../layout.js";
import type { Reader } from "../system/system.js";

/** One snippet as found on disk; `target` is set for links. */
export interface ScannedSnippet {
  rel: string;
  type: "file" | "link";
  mode: number;
  uid: number;
  gid: number;
  target?: string;
}

/** A scanned tree: its snippets by relative path, and the directories seen. */
export interface Scan {
  snippets: Map<string, ScannedSnippet>;
  /** Relative paths of directories below the tree's top. */
  dirs: Set<string>;
  /** Relative paths with a snippet name that are neither file nor wanted link (e.g. a link in sympl.d, a fifo). */
  skipped: string[];
}

/**
 * Scans `dir` (a server path). `links` says whether symlinks count as
 * snippets, as they do for Makefile.local. Entries come out sorted by path,
 * the order the Makefile concatenates them in.
 */
export function scanTree(sys: Reader, dir: string, options: { links: boolean }): Scan {
  const scan: Scan = { snippets: new Map(), dirs: new Set(), skipped: [] };
  const walk = (rel: string): void => {
    for (const name of sys.list(rel ? `${dir}/${rel}` : dir)) {
      const childRel = rel ? `${rel}/${name}` : name;
      const entry = sys.stat(`${dir}/${childRel}`);
      if (!entry) continue;
      if (entry.type === "dir") {
        scan.dirs.add(childRel);
        walk(childRel);
        continue;
      }
      if (!isSnippetName(name)) continue;
      if (entry.type === "file" || (entry.type === "link" && options.links)) {
        const { type, mode, uid, gid } = entry;
        const snippet: ScannedSnippet = { rel: childRel, type, mode, uid, gid };
        if (type === "link") snippet.target = sys.readLink(`${dir}/${childRel}`);
        scan.snippets.set(childRel, snippet);
      } else {
        scan.skipped.push(childRel);
      }
    }
  };
  walk("");
  scan.snippets = new Map([...scan.snippets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return scan;
}
