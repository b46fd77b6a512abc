/**
 * Creating sympl-local.d from sympl.d, shared by `sync`, `use` and
 * `install`: a copy of every snippet, dovecot's 60-sni as a relative link to
 * the upstream file, and the baseline recorded in the state dir.
 */
import type { App } from "../layout.js";
import type { Op } from "../plan.js";
import type { Reader } from "../system/system.js";

/** The plan that creates `app`'s sympl-local.d and its baseline. (Stub: filled in by the sync work.) */
export function planCreateLocalTree(_sys: Reader, _app: App): Op[] {
  throw new Error("planCreateLocalTree: not built yet");
}
