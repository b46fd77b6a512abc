/** Drift between sympl-local.d and sympl.d, summarised for `status`. */
import type { App } from "../layout.js";
import type { Reader } from "../system/system.js";

/** Counts of snippet states; null when there is no local tree to compare. */
export interface DriftSummary {
  /** How many snippets are in each non-clean state, e.g. {"upstream-modified": 2}. */
  counts: Record<string, number>;
  /** True when something needs the admin or a sync (exit 1 of `drift`). */
  actionNeeded: boolean;
}

/** Summarises `app`'s drift. (Stub: filled in by the sync work.) */
export function summarizeDrift(_sys: Reader, _app: App): DriftSummary | null {
  return null;
}
