/**
 * A reader of the host's own file system, for the few paths the admin gives
 * as host paths on the command line (`install --config FILE`), which are not
 * under --root. Read-only: nothing may write through it.
 */
import { RealSystem } from "./real.js";
import type { Reader } from "./system.js";
import { ReadOnlySystem } from "./wrappers.js";

/** A read-only reader rooted at the host's `/`. */
export function hostReader(): Reader {
  return new ReadOnlySystem(new RealSystem("/"));
}
