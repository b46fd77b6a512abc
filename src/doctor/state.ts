/**
 * The checks of what upgrades and our own runs leave behind: files waiting
 * for the admin (`leftovers`), the stored baseline (`baseline`), the size
 * of the saved copies (`saved-size`), and the upgrade triggers that keep
 * the changes in force (`triggers`).
 */
import { posix } from "node:path";
import { UserError } from "../errors.js";
import type { App } from "../server-layout.js";
import { APPS, STATE_DIR, WRITTEN_DIRS, appPaths } from "../server-layout.js";
import { resolveLinkTarget } from "../system/safe-path.js";
import { readBaseObject, readManifest } from "../tree/baseline.js";
import { APT_HOOK, ENABLE_LINK, PATH_UNIT, isOurs } from "../upgrade/hook-files.js";
import { SYMPL_NEW } from "../tree/scan.js";
import { JOURNAL, PENDING_JOURNAL_FIX, pendingJournal } from "../plan.js";
import { tempOwner } from "../system/system.js";
import type { Entry, Reader } from "../system/system.js";
import type { Verdict } from "./report.js";
import { fail, ok, warn } from "./report.js";
import { childPath, serverPath } from "../paths.js";
import type { HostPath, ServerPath } from "../paths.js";

/** Above this, the saved copies are worth pruning. */
export const SAVED_LIMIT = 100 * 1024 * 1024;

/** Calls `visit` for every entry below `dir` (links are not followed); nothing when `dir` is missing. */
function walk(sys: Reader, dir: ServerPath, visit: (path: ServerPath, name: string, entry: Entry) => void): void {
  if (sys.stat(dir)?.type !== "dir") return;
  for (const item of sys.listDetailed(dir, () => true)) {
    if (!item.entry) continue;
    const path = childPath(dir, item.name);
    visit(path, item.name, item.entry);
    if (item.entry.type === "dir") walk(sys, path, visit);
  }
}

/** A temp file of an atomic write that never got renamed into place (see tempName). */
function isOurTemp(name: string): boolean {
  return tempOwner(name) !== null;
}

/** The next mutating run (withLock) removes the temp files of runs that died. */
const TEMP_FIX = "the next makefilecheck run that changes something removes them, e.g. `makefilecheck repair`";

/** What a package upgrade leaves beside a conffile it did not replace or removed. */
function isPackageLeftover(name: string): boolean {
  return /\.(dpkg-(dist|old|new|bak)|ucf-(dist|old|new))$/.test(name);
}

function listed(paths: string[], max = 3): string {
  return paths.length <= max ? paths.join(", ") : `${paths.slice(0, max).join(", ")} and ${paths.length - max} more`;
}

/**
 * `leftovers` of one app: upstream versions sync could not merge
 * (`NAME.sympl-new`: a conflict, fail), files a package upgrade left
 * (warn), and temp files of an interrupted run of ours (warn).
 */
export function checkLeftovers(sys: Reader, app: App): Verdict {
  const p = appPaths(app);
  const waiting: string[] = [];
  const packaged: string[] = [];
  const temps: string[] = [];
  walk(sys, p.dir, (path, name, entry) => {
    if (entry.type === "dir") return;
    if (name.endsWith(SYMPL_NEW)) waiting.push(path);
    else if (isPackageLeftover(name)) packaged.push(path);
    else if (isOurTemp(name)) temps.push(path);
  });
  if (waiting.length) {
    const rel = waiting[0]!.slice(p.local.length + 1, -SYMPL_NEW.length);
    return fail(
      "leftovers",
      `${waiting.length} upstream change(s) wait to be merged by hand: ${listed(waiting)}`,
      `look at each with \`makefilecheck diff ${rel}\`, then \`makefilecheck sync --take-upstream ${rel}\` or \`--keep-local ${rel}\``,
    );
  }
  if (packaged.length) {
    const makefile = packaged.some((f) => posix.dirname(f) === p.dir && posix.basename(f).startsWith("Makefile"));
    const fix = makefile ? "run `makefilecheck repair`, which takes the new Makefile in" : "compare each with the file beside it, keep what you need, then remove it";
    return warn("leftovers", `package upgrade leftovers: ${listed(packaged)}`, fix);
  }
  if (temps.length) {
    return warn("leftovers", `temp files of an interrupted makefilecheck run: ${listed(temps)}`, TEMP_FIX);
  }
  return ok("leftovers", `nothing waiting in ${p.dir}`);
}

/**
 * `leftovers` outside the app trees: temp files of an interrupted run of
 * ours in the state dir, beside the action log, among the upgrade
 * triggers. Null before any run left a state dir.
 */
export function checkStateLeftovers(sys: Reader): Verdict | null {
  if (!sys.stat(STATE_DIR)) return null;
  const temps: string[] = [];
  for (const { dir, deep } of WRITTEN_DIRS) {
    if (deep) {
      walk(sys, dir, (path, name, entry) => {
        if (entry.type !== "dir" && isOurTemp(name)) temps.push(path);
      });
    } else if (sys.stat(dir)?.type === "dir") {
      for (const { name, type } of sys.listDetailed(dir, () => false)) if (type !== "dir" && isOurTemp(name)) temps.push(childPath(dir, name));
    }
  }
  if (temps.length) return warn("leftovers", `temp files of an interrupted makefilecheck run: ${listed(temps)}`, TEMP_FIX);
  return ok("leftovers", `nothing left over in ${WRITTEN_DIRS.map((w) => w.dir).join(", ")}`);
}

/** `journal`: an interrupted run waiting to be finished; null when there is none. */
export function checkJournal(sys: Reader): Verdict | null {
  const journal = pendingJournal(sys);
  if (!journal) return null;
  return fail("journal", `the \`${journal.command}\` run of ${journal.started} was cut short; its journal ${JOURNAL} waits to be finished`, PENDING_JOURNAL_FIX);
}

/** `baseline`: every stored upstream file still has the hash its manifest records; null without a baseline. */
export function checkBaseline(sys: Reader, app: App): Verdict | null {
  const fix = `run \`makefilecheck sync --adopt -a ${app}\` to record the current sympl.d as the baseline`;
  try {
    const manifest = readManifest(sys, app);
    if (!manifest) return null;
    const entries = Object.values(manifest.files);
    for (const entry of entries) readBaseObject(sys, app, entry);
    return ok("baseline", `${entries.length} stored upstream files match their hashes (recorded ${manifest.created})`);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    // The dash escaped: esbuild keeps a regex's characters as written, and the bundle must be ASCII (scripts/build.ts).
    return fail("baseline", err.message.replace(/ \u2014 .*$/, ""), fix);
  }
}

/** `saved-size`: the copies kept of files we replaced; warn over SAVED_LIMIT. Null when there are none. */
export function checkSavedSize(sys: Reader): Verdict | null {
  const dir = childPath(STATE_DIR, "saved");
  if (sys.stat(dir)?.type !== "dir") return null;
  let bytes = 0;
  walk(sys, dir, (_path, _name, entry) => {
    if (entry.type === "file") bytes += entry.size;
  });
  const size = `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  if (bytes > SAVED_LIMIT) {
    return warn("saved-size", `${dir} holds ${size}, over ${SAVED_LIMIT / 1024 / 1024} MiB`, "each run that changes something prunes it to its --keep-runs and --keep-days; give lower ones, e.g. `makefilecheck repair --keep-runs 5 --keep-days 30`");
  }
  return ok("saved-size", `${dir} holds ${size}`);
}

/** The upgrade triggers found, by what each is. */
export interface Triggers {
  apt: boolean;
  systemd: boolean;
  /** Pids of running `makefilecheck watch` processes for this root. */
  watch: number[];
}

/** True when the path unit's enable link is there and leads to a unit file that exists. */
function systemdEnabled(sys: Reader): boolean {
  if (sys.stat(ENABLE_LINK)?.type !== "link") return false;
  const target = resolveLinkTarget(ENABLE_LINK, sys.readLink(ENABLE_LINK));
  return posix.basename(target) === PATH_UNIT && sys.stat(target) !== null;
}

/** True when the apt hook is there and is ours. */
function aptHooked(sys: Reader): boolean {
  return sys.stat(APT_HOOK)?.type === "file" && isOurs(sys.readFile(APT_HOOK).toString("utf8"));
}

/**
 * The `--root` a process's makefilecheck command line names ("/" when
 * none), when it runs `watch`; null for any other process.
 */
export function watchRootOf(argv: string[], cwd: string): string | null {
  const at = argv.findIndex((a) => /(^|\/)makefilecheck$/.test(a));
  if (at < 0) return null;
  const args = argv.slice(at + 1);
  let root = "/";
  let command: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--root") root = args[++i] ?? "/";
    else if (a.startsWith("--root=")) root = a.slice("--root=".length);
    else if (!a.startsWith("-") && command === undefined) command = a;
  }
  return command === "watch" ? posix.resolve(cwd, root) : null;
}

/**
 * Running watchers for `root` (a host path), found by their command lines
 * in the host's /proc: a watcher for another root keeps another tree.
 */
export function runningWatchers(host: Reader, root: HostPath): number[] {
  const pids: number[] = [];
  const proc = serverPath("/proc");
  for (const name of host.list(proc)) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const dir = childPath(proc, name);
      const argv = host.readFile(childPath(dir, "cmdline")).toString("utf8").split("\0").filter(Boolean);
      const watched = watchRootOf(argv, host.readLink(childPath(dir, "cwd")));
      if (watched !== null && posix.resolve(watched) === posix.resolve(root)) pids.push(Number(name));
    } catch {
      // The process ended while we looked, or is not ours to read.
    }
  }
  return pids;
}

/** Finds the triggers: the files under the root, the watchers on the host. */
export function findTriggers(sys: Reader, host: Reader): Triggers {
  return { apt: aptHooked(sys), systemd: systemdEnabled(sys), watch: runningWatchers(host, sys.root) };
}

/** True when some app has a sympl-local.d: then an upgrade can switch the changes off. */
export function changesAtStake(sys: Reader): boolean {
  return APPS.some((app) => sys.stat(appPaths(app).local)?.type === "dir");
}

/** `triggers`: exactly one thing should repair and sync after each upgrade. */
export function checkTriggers(found: Triggers): Verdict {
  const names = [
    ...(found.apt ? [`the apt hook ${APT_HOOK}`] : []),
    ...(found.systemd ? [`the systemd unit ${PATH_UNIT}`] : []),
    ...found.watch.map((pid) => `makefilecheck watch (pid ${pid})`),
  ];
  if (names.length === 0) {
    return warn("triggers", "no upgrade trigger: after the next Sympl upgrade the changes are off until someone runs repair", "run `makefilecheck hooks --install`");
  }
  if (names.length > 1) {
    return warn("triggers", `${names.length} upgrade triggers, all run after each upgrade: ${names.join(", ")}`, "keep one: `makefilecheck hooks --remove --only apt` (or systemd), or stop the watcher");
  }
  return ok("triggers", `${names[0]} repairs and syncs after each upgrade`);
}
