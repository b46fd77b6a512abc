/**
 * The in-place edits the changes make to upstream snippets (ch3, ch4, ch10,
 * ch11), as data that `sync` can re-apply to a newer upstream file and
 * recognise in old installs.
 */
import type { App } from "../layout.js";

/**
 * When `local` is `upstream` with some of the catalogue's known edits
 * applied, returns those edits applied to `newUpstream`; otherwise null.
 * (Stub: filled in by the changes work.)
 */
export function deriveWithKnownEdits(
  _app: App,
  _path: string,
  _upstream: string,
  _local: string,
  _newUpstream: string,
): string | null {
  return null;
}
