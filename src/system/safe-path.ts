/**
 * Following links the way a chroot at --root would, so that no reader
 * leaves the server's tree through a link. The path types and their checks
 * are in src/paths.ts.
 */
import { posix } from "node:path";
import { serverPath } from "../paths.js";
import type { HostPath, ServerPath } from "../paths.js";
import type { Reader } from "./system.js";

/**
 * Resolves a symlink target as a chroot at --root would: an absolute target
 * is a server path, a relative one is taken from the link's directory.
 */
export function resolveLinkTarget(linkPath: ServerPath, target: string): ServerPath {
  if (target.startsWith("/")) return serverPath(target);
  return serverPath(posix.join(posix.dirname(linkPath), target));
}

/** True when `path` is `dir` or lies below it. */
export function isInside(dir: ServerPath, path: ServerPath): boolean;
/** True when the host path `path` is `dir` or lies below it. */
export function isInside(dir: HostPath, path: HostPath): boolean;
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
export function followLinks(sys: Reader, path: ServerPath, loop: () => Error, visit?: (target: ServerPath) => void): ServerPath {
  let at = path;
  for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
    if (sys.stat(at)?.type !== "link") return at;
    at = resolveLinkTarget(at, sys.readLink(at));
    visit?.(at);
  }
  throw loop();
}
