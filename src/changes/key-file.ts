/**
 * The Spamhaus key kept private (ch10): it lives in its own file outside
 * the snippet trees, 0640 root:Debian-exim, which 35-spamhaus-key includes,
 * so no tree, built config or config-test copy holds it. Install writes or
 * removes that file as the settings say, moves a key an earlier release
 * put into 35-spamhaus-key, and tightens what it finds readable by others:
 * the key file and built configs still holding the key (to 0640), saved
 * copies holding the key (to 0600).
 */
import { posix } from "node:path";
import { EnvironmentError, problem } from "../errors.js";
import type { Op } from "../plan.js";
import { savedRoot } from "../saved.js";
import { EXIM_GROUP, KEY_DEFINE, SPAMHAUS_KEY_PATH, appPaths } from "../server-layout.js";
import type { Reader } from "../system/system.js";
import { appOwner } from "../tree/clone.js";
import { isOurKeyFile, keyFileText } from "../catalogue/templates.js";
import { childPath, serverPath } from "../paths.js";
import type { ServerPath } from "../paths.js";

/** The key file's mode: root writes, exim's group reads, nobody else. */
export const KEY_FILE_MODE = 0o640;

/** A saved copy's mode once it is found holding the key. */
export const SAVED_KEY_MODE = 0o600;

/** One thing a run does about the key, worded as done and as a dry run would say it. */
export interface KeyLine {
  done: string;
  would: string;
}

/** What a run does about the key: its steps and their lines. */
export interface KeyPlan {
  ops: Op[];
  lines: KeyLine[];
}

/** `mode` as four octal digits. */
function octal(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}

/** True when a mode lets someone read or write beyond root and the key file's group reading. */
function looserThan(mode: number, limit: number): boolean {
  return (mode & 0o777 & ~limit) !== 0;
}

const ETC_GROUP = serverPath("/etc/group");

/**
 * The gid of `name` in the server's /etc/group (read, never run through
 * NSS: under --root it is the root's file), or null when there is none.
 */
export function groupId(sys: Reader, name: string): number | null {
  if (sys.stat(ETC_GROUP)?.type !== "file") return null;
  for (const line of sys.readFile(ETC_GROUP).toString("utf8").split("\n")) {
    const [group, , gid] = line.split(":");
    if (group === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return null;
}

/**
 * The key file's owner: root, with exim's group Debian-exim; without that
 * group (not Debian's exim4) the group of /etc/exim4, so that only root
 * reads it (exim reads its config as root, so that is enough to run).
 */
function keyFileOwner(sys: Reader): { uid: number; gid: number; said: string } {
  const gid = groupId(sys, EXIM_GROUP);
  if (gid !== null) return { uid: 0, gid, said: `${octal(KEY_FILE_MODE)} root:${EXIM_GROUP}` };
  return { uid: 0, gid: appOwner(sys, "exim4").gid, said: `${octal(KEY_FILE_MODE)}, group of ${appPaths("exim4").dir} (no ${EXIM_GROUP} group)` };
}

/**
 * The steps that make the key file hold `want`: a key to keep there, null
 * for no key (a file of ours is removed, another left alone), undefined to
 * leave its text as it is. Whatever it holds is tightened to 0640 when
 * others may read it. `why` says which setting decided.
 */
export function planKeyFile(sys: Reader, want: string | null | undefined, why: string): KeyPlan {
  const path = SPAMHAUS_KEY_PATH;
  const cur = sys.stat(path);
  const file = cur?.type === "file" ? cur : null;
  const text = file ? sys.readFile(path).toString("utf8") : null;
  const loose = file !== null && looserThan(file.mode, KEY_FILE_MODE);
  const tightened: KeyLine = {
    done: `tightened ${path}: it was ${octal(file?.mode ?? 0)}, readable beyond root and exim; now ${octal(KEY_FILE_MODE)}`,
    would: `would tighten ${path} from ${octal(file?.mode ?? 0)} to ${octal(KEY_FILE_MODE)}: it is readable beyond root and exim`,
  };
  if (typeof want === "string") {
    if (cur && cur.type !== "file" && cur.type !== "link") {
      throw new EnvironmentError(problem(path, `is a ${cur.type === "dir" ? "directory" : "special file"}, where install keeps the Spamhaus key`, "move it away, then run install again"));
    }
    const owner = keyFileOwner(sys);
    const data = keyFileText(want);
    if (!file || text !== data || file.uid !== owner.uid || file.gid !== owner.gid) {
      const op: Op = { op: "write", path, data: Buffer.from(data), mode: KEY_FILE_MODE, uid: owner.uid, gid: owner.gid, why: `the Spamhaus key (${why}), ${owner.said}` };
      return { ops: [op], lines: loose ? [tightened] : [] };
    }
  }
  if (want === null && file && text !== null && isOurKeyFile(text)) {
    return {
      ops: [{ op: "remove", path, why: `no Spamhaus key to keep (${why})` }],
      lines: [{ done: `removed ${path}: ${why}`, would: `would remove ${path}: ${why}` }],
    };
  }
  if (!loose) return { ops: [], lines: [] };
  return { ops: [{ op: "chmod", path, mode: KEY_FILE_MODE, why: "the Spamhaus key, readable by others" }], lines: [tightened] };
}

/** Every regular file below `dir`, by server path, with its mode. */
function filesBelow(sys: Reader, dir: ServerPath): Array<{ path: ServerPath; mode: number }> {
  if (sys.stat(dir)?.type !== "dir") return [];
  return sys.listDetailed(dir, () => true).flatMap(({ name, type, entry }) => {
    const path = childPath(dir, name);
    if (type === "dir") return filesBelow(sys, path);
    return type === "file" && entry ? [{ path, mode: entry.mode }] : [];
  });
}

/**
 * chmod 0640 for exim's built config, its draft and backups (`exim4.conf`,
 * `exim4.conf.tmp`, `exim4.conf~`) that others may read while they still
 * hold the key from an earlier release; the next `make` replaces them
 * without it. exim reads its config as root, so 0640 keeps it working.
 */
export function planBuiltKeyCopies(sys: Reader): KeyPlan {
  const { dir, conf } = appPaths("exim4");
  if (sys.stat(dir)?.type !== "dir") return { ops: [], lines: [] };
  const built = sys
    .listDetailed(dir, (name, type) => type === "file" && name.startsWith(posix.basename(conf)))
    .flatMap(({ name, entry }) => (entry?.type === "file" ? [{ path: childPath(dir, name), mode: entry.mode }] : []));
  const loose = looseKeyHolders(sys, built, KEY_FILE_MODE);
  const why = `built by an earlier release, holding the Spamhaus key; \`make\` in ${dir} builds it without`;
  return tightenAll(loose, KEY_FILE_MODE, "a built config holding the Spamhaus key", (verb) => `${verb} ${loose.join(", ")} to ${octal(KEY_FILE_MODE)} (${why})`);
}

/**
 * chmod 0600 for every saved copy of exim4's (sync keeps what it
 * overwrote) that defines the key and that others may read: earlier
 * releases kept the key in a snippet, so saved copies of it hold the key.
 */
export function planSavedKeyCopies(sys: Reader): KeyPlan {
  const dir = savedRoot("exim4");
  const loose = looseKeyHolders(sys, filesBelow(sys, dir), SAVED_KEY_MODE);
  const names = loose.map((path) => posix.relative(dir, path)).join(", ");
  const n = loose.length;
  const copies = `${n} saved cop${n === 1 ? "y" : "ies"} holding the Spamhaus key`;
  return tightenAll(loose, SAVED_KEY_MODE, "a saved copy holding the Spamhaus key", (verb) => `${verb} ${copies} to ${octal(SAVED_KEY_MODE)} in ${dir}: ${names}`);
}

/** The files of `files` that others may read beyond `limit` and that define the key. */
function looseKeyHolders(sys: Reader, files: Array<{ path: ServerPath; mode: number }>, limit: number): ServerPath[] {
  return files.filter((f) => looserThan(f.mode, limit) && KEY_DEFINE.test(sys.readFile(f.path).toString("utf8"))).map((f) => f.path);
}

/** chmod steps to `mode` for `loose`, with one line that `said` words as done ("tightened") or as a dry run would ("would tighten"). */
function tightenAll(loose: ServerPath[], mode: number, why: string, said: (verb: string) => string): KeyPlan {
  if (loose.length === 0) return { ops: [], lines: [] };
  return { ops: loose.map((path) => ({ op: "chmod", path, mode, why })), lines: [{ done: said("tightened"), would: said("would tighten") }] };
}
