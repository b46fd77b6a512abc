/**
 * The three kinds of path the tool handles, as types that do not mix:
 *
 * - `ServerPath`: absolute, as the mail server sees it
 *   (`/etc/exim4/sympl.d`). Every System method takes one and maps it under
 *   --root.
 * - `HostPath`: where that file is on this machine (`/srv/copy/etc/exim4/...`
 *   under `--root /srv/copy`): what messages, programs and the watcher get.
 * - `SnippetPath`: relative to a snippet tree (`00-main/35-spamhaus-key`),
 *   never climbing out of it.
 *
 * All three are strings at run time; each is made only by its constructor
 * here, which checks it, so a relative path that would climb out is refused
 * where it is made (see docs/architecture.md, "Paths").
 */
import { InputError, problem } from "./errors.js";

declare const kind: unique symbol;

/** A string known to be a path of kind `K`. */
type PathOf<K extends string> = string & { readonly [kind]: K };

/** An absolute, normalised path as on the mail server. */
export type ServerPath = PathOf<"server">;
/** An absolute, normalised path on this machine (a ServerPath under --root). */
export type HostPath = PathOf<"host">;
/** A path inside a snippet tree: plain names joined by `/`, none `.` or `..`. */
export type SnippetPath = PathOf<"snippet">;

/** A part that normalising removes or takes back: empty (`//`, a trailing `/`), `.` or `..`. */
const NOT_NORMAL = /\/(?:\.\.?)?(?:\/|$)/;

/** `path` normalised as an absolute path; refuses relative input and NUL bytes. */
function absolute(path: string, what: string): string {
  if (path.includes("\0")) throw new InputError(problem(JSON.stringify(path), `${what} contains a NUL byte`));
  if (!path.startsWith("/")) throw new InputError(problem(path, `expected an absolute ${what}`));
  // Most paths are normal already (every System call checks its path again): kept as they are, with nothing allocated.
  if (!NOT_NORMAL.test(path)) return path;
  // posix.normalize without loading node:path: no `.` or empty parts, `..` taken back.
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** A server path: absolute, normalised (`/etc//exim4/` is `/etc/exim4`). */
export function serverPath(path: string): ServerPath {
  return absolute(path, "server path") as ServerPath;
}

/** A host path: absolute, normalised. */
export function hostPath(path: string): HostPath {
  return absolute(path, "host path") as HostPath;
}

/** Why `name` cannot be one part of a relative path, or null when it can. */
function badName(name: string): string | null {
  if (name === "") return "has an empty part";
  if (name === "." || name === "..") return `climbs out of its tree (${name})`;
  if (name.includes("\0")) return "contains a NUL byte";
  // A newline would let a path forge lines of the action log and of line-based output.
  if (name.includes("\n")) return "contains a newline";
  return null;
}

/** A snippet path; refuses `..`, `.`, a leading `/`, empty parts, NUL and newlines. */
export function snippetPath(path: string): SnippetPath {
  const why = path === "" ? "is empty" : path.startsWith("/") ? "is absolute" : path.split("/").map(badName).find((w) => w !== null);
  if (why) throw new InputError(problem(JSON.stringify(path), `not a path inside the snippet tree: it ${why}`, "give it relative to the tree, e.g. 00-main/50-tls-options"));
  return path as SnippetPath;
}

/** True when `name` is one plain name (no `/`), usable as a part of a snippet path. */
export function isPlainName(name: string): boolean {
  return !name.includes("/") && badName(name) === null;
}

/** The snippet path of `name` in the directory `rel` (null: the tree's top); `name` must be one plain name. */
export function snippetChild(rel: SnippetPath | null, name: string): SnippetPath {
  if (!isPlainName(name)) throw new InputError(problem(JSON.stringify(name), "not a plain name inside the snippet tree"));
  return (rel === null ? name : `${rel}/${name}`) as SnippetPath;
}

/** The server path of `rel` in the tree at `dir`. */
export function inTree(dir: ServerPath, rel: SnippetPath): ServerPath {
  return `${dir}/${rel}` as ServerPath;
}

/** The server path of the entry `name` of the directory `dir`; `name` must be one plain name. */
export function childPath(dir: ServerPath, name: string): ServerPath {
  if (!isPlainName(name)) throw new InputError(problem(JSON.stringify(name), "not a plain file name"));
  return (dir === "/" ? `/${name}` : `${dir}/${name}`) as ServerPath;
}
