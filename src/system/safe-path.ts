/**
 * Path checks, made where a path is made. Server paths are absolute paths as
 * the mail server sees them (`/etc/exim4/Makefile`); the System maps them
 * under --root. Relative snippet paths never climb out of their tree.
 */
import { posix } from "node:path";
import { InputError } from "../errors.js";
import type { Reader } from "./system.js";

/** A normalised absolute server path; refuses NUL bytes and relative input. */
export function serverPath(path: string): string {
  if (path.includes("\0")) throw new InputError(`${JSON.stringify(path)}: path contains a NUL byte`);
  if (!path.startsWith("/")) throw new InputError(`${path}: expected an absolute path`);
  const normal = posix.normalize(path);
  return normal.length > 1 && normal.endsWith("/") ? normal.slice(0, -1) : normal;
}

/** A relative path inside a tree: no `..`, no leading `/`, no NUL, no empty parts. */
export function relPath(path: string): string {
  const parts = path.split("/");
  if (
    path === "" ||
    path.includes("\0") ||
    path.startsWith("/") ||
    parts.some((p) => p === "" || p === "." || p === "..")
  ) {
    throw new InputError(`${JSON.stringify(path)}: not a plain path inside the snippet tree`);
  }
  return path;
}

/**
 * Resolves a symlink target as a chroot at --root would: an absolute target
 * is a server path, a relative one is taken from the link's directory.
 */
export function resolveLinkTarget(linkPath: string, target: string): string {
  if (target.startsWith("/")) return serverPath(target);
  return serverPath(posix.join(posix.dirname(linkPath), target));
}

/** True when `path` is `dir` or lies below it. */
export function isInside(dir: string, path: string): boolean {
  return path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}

/** How many links in a row a path may go through before it counts as a loop. */
export const MAX_LINK_HOPS = 8;

/**
 * Where a chain of symlinks starting at `path` ends, each hop read as a
 * chroot at --root would (see resolveLinkTarget): the first path that is
 * not a link, which may not exist. `visit` sees every target before it is
 * looked at and may throw to refuse it; `loop` makes the error for a chain
 * that does not end.
 */
export function followLinks(sys: Reader, path: string, loop: () => Error, visit?: (target: string) => void): string {
  let at = path;
  for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
    if (sys.stat(at)?.type !== "link") return at;
    at = resolveLinkTarget(at, sys.readLink(at));
    visit?.(at);
  }
  throw loop();
}
