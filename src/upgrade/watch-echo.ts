/**
 * Telling the watcher's own writes from an upgrade's. `repair` rewrites the
 * Makefiles the watcher watches, and the events for those writes arrive
 * after the action, in no fixed time. Rather than guess a quiet period, the
 * watcher records what each control file looks like once its action is done;
 * an event on a control file that still looks like that is its own echo (or
 * a touch that changed nothing) and starts no round. No clock involved.
 */
import { sha256 } from "../hash.js";
import type { Reader } from "../system/system.js";
import type { ServerPath } from "../paths.js";

/** What a control file looks like: kind, mode, link target or content hash. */
export function fingerprint(sys: Reader, serverPath: ServerPath): string {
  const st = sys.stat(serverPath);
  if (!st) return "absent";
  if (st.type === "link") return `link ${sys.readLink(serverPath)}`;
  if (st.type !== "file") return st.type;
  return `file ${st.mode.toString(8)} ${st.uid}:${st.gid} ${sha256(sys.readFile(serverPath))}`;
}

/** The control files as the watcher last left them, by server path. */
export class ControlSnapshot {
  private seen = new Map<ServerPath, string>();

  constructor(private readonly sys: Reader) {}

  /** Records every path in `paths` as it is now. */
  take(paths: Iterable<ServerPath>): void {
    this.seen = new Map([...paths].map((p) => [p, fingerprint(this.sys, p)]));
  }

  /** True when `path` differs from the recorded state (a path never recorded counts as absent). */
  changed(path: ServerPath): boolean {
    return fingerprint(this.sys, path) !== (this.seen.get(path) ?? "absent");
  }
}
