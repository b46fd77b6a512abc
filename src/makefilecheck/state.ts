/**
 * The admin's chosen mode per app, kept in the state dir so that `repair`
 * restores it after an upgrade or a script replaced the Makefile link. The
 * record also keeps the hash of each variant as we last wrote it, which is
 * how an admin's own later edit of a variant is told from our text.
 */
import { InputError, problem } from "../errors.js";
import { sha256 } from "../hash.js";
import type { App, Mode } from "../server-layout.js";
import { STATE_DIR } from "../server-layout.js";
import type { Op } from "../plan.js";
import type { Reader } from "../system/system.js";
import { childPath } from "../paths.js";
import type { ServerPath } from "../paths.js";

/** What is recorded for one app. */
export interface Recorded {
  mode: Mode;
  /** sha256 of each variant's text as we last wrote it, by file name (`Makefile.local`). */
  variants: Record<string, string>;
  /**
   * sha256 of the packaged Makefile as we last left it: a Makefile that
   * differs is newer upstream text (a Sympl upgrade replaced it). Absent in
   * records of makefilecheck 0.1.0, whose Makefile was the link.
   */
  makefile?: string;
  /** When it was recorded (ISO time). */
  at: string;
}

/** Where `app`'s record lives. */
export function recordPath(app: App): ServerPath {
  return childPath(STATE_DIR, `${app}.json`);
}

/** Reads `app`'s record; null when none. An unreadable record is refused, not ignored. */
export function readRecorded(sys: Reader, app: App): Recorded | null {
  const path = recordPath(app);
  const st = sys.stat(path);
  if (!st) return null;
  const fix = "remove it; `makefilecheck repair` then infers the mode from the Makefile link";
  if (st.type !== "file") throw new InputError(problem(path, "not a regular file", fix));
  let raw: unknown;
  try {
    raw = JSON.parse(sys.readFile(path).toString("utf8"));
  } catch {
    throw new InputError(problem(path, "not valid JSON", fix));
  }
  const r = raw as Partial<Recorded>;
  if ((r.mode !== "local" && r.mode !== "sympl") || typeof r.variants !== "object" || r.variants === null) {
    throw new InputError(problem(path, "not a makefilecheck mode record", fix));
  }
  const makefile = typeof r.makefile === "string" ? { makefile: r.makefile } : {};
  return { mode: r.mode, variants: { ...r.variants }, ...makefile, at: String(r.at ?? "") };
}

/** The record of `mode`, the variant texts just derived and the packaged Makefile's text. */
export function recordOf(mode: Mode, variants: Record<string, string>, makefile: string, now: Date): Recorded {
  return {
    mode,
    variants: Object.fromEntries(Object.entries(variants).map(([name, text]) => [name, sha256(text)])),
    makefile: sha256(makefile),
    at: now.toISOString(),
  };
}

/** The plan step that writes `body` as `app`'s record. */
export function planRecord(app: App, body: Recorded): Op {
  const mode = body.mode;
  return {
    op: "write",
    path: recordPath(app),
    data: Buffer.from(`${JSON.stringify(body, null, 2)}\n`),
    mode: 0o644,
    why: `record ${mode} as the chosen mode`,
  };
}

/** The plan step that forgets `app`'s record (after `revert`). */
export function planForget(app: App): Op {
  return { op: "remove", path: recordPath(app), why: "no mode is chosen any more" };
}

/** A UTC stamp for file names: 20261127T204400Z. */
export function stamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}
