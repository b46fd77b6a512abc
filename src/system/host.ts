/**
 * A reader of the host's own file system, for the few paths the admin gives
 * as host paths on the command line (`install --config FILE`), which are not
 * under --root. Read-only: nothing may write through it.
 */
import { readSync } from "node:fs";
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

/**
 * Standard input read to its end, at most `maxBytes`; null when it holds
 * more (`--set-from-file NAME=-`, so that a secret need not be an
 * argument, which any user can read in /proc).
 */
export function readStandardInput(maxBytes: number): Buffer | null {
  const buf = Buffer.alloc(maxBytes + 1);
  let len = 0;
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, len, buf.length - len, null);
    } catch (err) {
      // A non-blocking pipe with nothing in it yet: wait a moment and read again.
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      continue;
    }
    if (n === 0) return buf.subarray(0, len);
    len += n;
    if (len > maxBytes) return null;
  }
}
