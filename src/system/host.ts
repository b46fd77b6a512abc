/**
 * A reader of the host's own file system, for the few paths the admin gives
 * as host paths on the command line (`install --config FILE`), which are not
 * under --root. Read-only: nothing may write through it.
 */
import { serverPath } from "../paths.js";
import type { HostPath, ServerPath } from "../paths.js";
import { RealSystem } from "./real.js";
import type { Reader } from "./system.js";
import { ReadOnlySystem } from "./wrappers.js";

/** A read-only reader rooted at the host's `/`. */
export function hostReader(): Reader {
  return new ReadOnlySystem(new RealSystem("/"));
}

/** A host path as the hostReader takes it: rooted at the host's `/`, it is its own server path. */
export function onHostReader(path: HostPath): ServerPath {
  return serverPath(path);
}
