/**
 * The real System: node:fs under a root directory. Writes are atomic (temp
 * file or link in the same directory, then rename) and refuse to pass
 * through a symlinked directory below the root.
 */
import { accessSync, chmodSync, chownSync, closeSync, constants, fchmodSync, fchownSync, fstatSync, fsyncSync, lchownSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, readlinkSync, renameSync, rmSync, rmdirSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import type { Dirent, Stats } from "node:fs";
import { spawn } from "node:child_process";
import { posix } from "node:path";
import { EnvironmentError, LockHeldError, RefusedError, problem } from "../errors.js";
import { childPath, hostPath, serverPath } from "../paths.js";
import type { HostPath, ServerPath } from "../paths.js";
import { tempName, tempOwner } from "./system.js";
import type { Attrs, DirWatch, Entry, Listed, ProcessInfo, RunOptions, RunResult, SmallFile, System, WatchOptions } from "./system.js";

let tempCounter = 0;


/** True while process `pid` exists (a process of another user counts). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Names a temp sibling; the leading dot keeps it out of every snippet scan. */
function tempSibling(hostPath: string): string {
  const dir = posix.dirname(hostPath);
  const base = posix.basename(hostPath);
  tempCounter += 1;
  return `${dir}/${tempName(base, process.pid, tempCounter)}`;
}

/**
 * What keeps root from changing the host paths an errno failure names
 * (the path, a rename's destination, their directories): the first that
 * access(2) refuses to root for writing. The kernel answers EPERM for an
 * immutable file or directory (chattr +i) and EROFS for one on a
 * read-only mount.
 */
function blockerOf(err: NodeJS.ErrnoException & { dest?: string }): { host: string; code: string } | null {
  const paths = [err.path, err.dest].filter((p): p is string => typeof p === "string");
  for (const host of paths.flatMap((p) => [p, posix.dirname(p)])) {
    try {
      accessSync(host, constants.W_OK);
    } catch (probe) {
      const code = (probe as NodeJS.ErrnoException).code;
      if (code === "EPERM" || code === "EROFS") return { host, code };
    }
  }
  return null;
}

/**
 * Words a refusal to write: to anyone but root, a missing privilege; to
 * root, what the kernel refuses even to root (an immutable file or
 * directory, a read-only mount), named, with the way to lift it.
 */
function refusal(path: string, err: NodeJS.ErrnoException): Error {
  if (process.getuid?.() !== 0 && err.code !== "EROFS") return new RefusedError(problem(path, "permission denied", "run makefilecheck as root"));
  const blocker = blockerOf(err);
  if (err.code === "EROFS" || blocker?.code === "EROFS") {
    const where = blocker?.host ?? err.path ?? path;
    return new RefusedError(problem(path, `the file system holding ${where} is mounted read-only`, `remount it read-write (\`findmnt -T ${where}\` shows the mount), then run this again`));
  }
  if (blocker) {
    return new RefusedError(problem(path, `${blocker.host} is immutable (chattr +i): not even root may change it`, `if that is not meant, \`chattr -i ${blocker.host}\`, then run this again`));
  }
  const what = err.code === "EPERM" ? "operation not permitted, even to root" : "permission denied, even to root";
  return new RefusedError(problem(path, what, "look for an append-only flag (`lsattr -d`), a security module (AppArmor) or a network file system that maps root, then run this again"));
}

/** Turns an errno failure into one line naming the path and what to do. */
function explain(path: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return refusal(path, err as NodeJS.ErrnoException);
    case "ENOENT":
      return new EnvironmentError(problem(path, "no such file or directory", "check that it and its parent directory are there, then run this again"));
    case "ENOTDIR":
      return new EnvironmentError(problem(path, "a parent of this path is not a directory", "make that parent a directory again"));
    case "ENOSPC":
      return new EnvironmentError(problem(path, "no space left on device", "free some space, then run this again"));
    default:
      // Any other errno failure (EIO, ELOOP, EISDIR, ...) is still the system's, not a bug of ours (node's
      // ERR_* codes are); node's words are kept without the host path it appends.
      if (typeof code === "string" && /^E[A-Z]+$/.test(code) && err instanceof Error) {
        return new EnvironmentError(problem(path, err.message.split(", ")[0] ?? code, "look at what is there (dmesg for an I/O error), then run this again"));
      }
      return err instanceof Error ? err : new Error(String(err));
  }
}

/**
 * lstat of a host path as an Entry (null when nothing is there). Errors
 * name the server path `path`, or `path/name` (built only then: a scan
 * makes thousands of these calls).
 */
function lstatHost(host: string, path: string, name?: string): Entry | null {
  try {
    const st = lstatSync(host);
    return { type: typeOf(st), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: st.size, ino: st.ino, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw explain(name === undefined ? path : `${path}/${name}`, err);
  }
}

/**
 * Reads a file expected to hold `size` bytes without an fstat: into room
 * for one byte more, so that a read stopping short past `size` is the
 * end, and a full buffer means the file grew (the room is doubled and
 * reading goes on). Short of `size`, reading goes on until it returns 0.
 */
function readSized(host: string, size: number): Buffer {
  const fd = openSync(host, "r");
  try {
    let buf = Buffer.allocUnsafe(size + 1);
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger);
        buf = bigger;
      }
      const n = readSync(fd, buf, len, buf.length - len, null);
      len += n;
      if (n === 0 || (len >= size && len < buf.length)) return buf.subarray(0, len);
    }
  } finally {
    closeSync(fd);
  }
}

/** Reads an open regular file's first `max + 1` bytes at most: one more than `max` tells that it holds more. */
function readUpTo(fd: number, max: number): Buffer {
  const buf = Buffer.alloc(max + 1);
  let len = 0;
  for (;;) {
    const n = readSync(fd, buf, len, buf.length - len, null);
    len += n;
    if (n === 0 || len === buf.length) return buf.subarray(0, len);
  }
}

/** The type a directory records for a name (node lstats names whose type the file system does not record). */
function direntType(d: Dirent): Entry["type"] {
  if (d.isSymbolicLink()) return "link";
  if (d.isFile()) return "file";
  if (d.isDirectory()) return "dir";
  return "other";
}

function typeOf(st: Stats): Entry["type"] {
  if (st.isSymbolicLink()) return "link";
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "dir";
  return "other";
}

const ROOT = serverPath("/");

/**
 * Where config tests put the assembled config: the host's /run (memory,
 * emptied at boot), whatever --root is, so a test leaves no trace in the
 * tree; 0700, root's.
 */
const SCRATCH_DIR = "/run/makefilecheck";

/** Removes the scratch directories of config tests whose run is gone (killed while its daemon read). */
function removeStaleScratch(): void {
  for (const name of readdirSync(SCRATCH_DIR)) {
    const pid = tempOwner(name);
    if (pid !== null && pid !== process.pid && !processExists(pid)) rmSync(`${SCRATCH_DIR}/${name}`, { recursive: true, force: true });
  }
}

/** Runs `act`, turning an errno failure into our one line about `path`. */
function explained<T>(path: string, act: () => T): T {
  try {
    return act();
  } catch (err) {
    throw explain(path, err);
  }
}

/** The System that really reads and writes, with `root` standing for `/`. */
export class RealSystem implements System {
  readonly root: HostPath;
  /** Directories already seen to be real directories in this run (see assertPlainParents). */
  private readonly plainDirs = new Set<string>();
  /** Host directories holding renames not yet made durable (see flush). */
  private readonly unsyncedDirs = new Set<string>();

  constructor(root: string) {
    this.root = hostPath(root);
  }

  hostPath(path: ServerPath): HostPath {
    // Normalised again: a path made by a cast (a test, a journal) must not climb out of the root either.
    const p = serverPath(path);
    if (this.root === "/") return p as string as HostPath;
    return (p === "/" ? this.root : `${this.root}${p}`) as HostPath;
  }

  private guard<T>(path: string, act: () => T): T {
    return explained(path, act);
  }

  stat(path: ServerPath): Entry | null {
    return lstatHost(this.hostPath(path), path);
  }

  readFile(path: ServerPath, sizeHint?: number): Buffer {
    const host = this.hostPath(path);
    return this.guard(path, () => (sizeHint === undefined ? readFileSync(host) : readSized(host, sizeHint)));
  }

  readSmallFile(path: ServerPath, maxBytes: number): SmallFile {
    let fd: number;
    try {
      fd = openSync(this.hostPath(path), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return { refused: "missing" };
      if (code === "ELOOP") return { refused: "link" };
      throw explain(path, err);
    }
    try {
      return this.guard(path, () => {
        const st = fstatSync(fd);
        if (!st.isFile()) return { refused: st.isDirectory() ? "dir" : "other" };
        const data = st.size > maxBytes ? null : readUpTo(fd, maxBytes);
        if (!data || data.length > maxBytes) return { refused: "too-big" };
        return { data, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
      });
    } finally {
      closeSync(fd);
    }
  }

  readLink(path: ServerPath): string {
    return this.guard(path, () => readlinkSync(this.hostPath(path)));
  }

  list(path: ServerPath): string[] {
    return this.guard(path, () => sortBytewise(readdirSync(this.hostPath(path))));
  }

  listDetailed(path: ServerPath, detail: (name: string, type: Entry["type"]) => boolean): Listed[] {
    const host = this.hostPath(path);
    const dirents = this.guard(path, () => readdirSync(host, { withFileTypes: true }));
    // A listed name is one plain component: joined as is, without a path check per name.
    return sortByName(dirents).map((d) => {
      const { name } = d;
      const type = direntType(d);
      return detail(name, type) ? { name, type, entry: lstatHost(`${host}/${name}`, path, name) } : { name, type };
    });
  }

  process(pid: number): ProcessInfo | null {
    return Number.isInteger(pid) && pid > 0 ? procStat(pid) : null;
  }

  childProcesses(pid: number): ProcessInfo[] {
    let names: string[];
    try {
      names = readdirSync("/proc");
    } catch {
      return [];
    }
    const out: ProcessInfo[] = [];
    for (const name of names) {
      if (!/^\d+$/.test(name)) continue;
      const info = procStat(Number(name));
      if (info?.ppid === pid) out.push(info);
    }
    return out;
  }

  async run(cmd: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
    const { execa } = await import("execa");
    const result = await execa(cmd, args, {
      reject: false,
      stdin: "ignore",
      cwd: options.cwd ? this.hostPath(options.cwd) : undefined,
      timeout: options.timeoutMs ?? 120_000,
      env: options.env,
      detached: options.detached ?? false,
    });
    const timeoutMs = options.timeoutMs ?? 120_000;
    const stopped = result.timedOut ? { timeoutMs } : result.signal ? { signal: result.signal } : undefined;
    // 127 only for a program that could not start; one cut short gets the shell's 128 (and `stopped`).
    const exitCode = result.exitCode ?? (stopped ? 128 : result.failed ? 127 : 1);
    return {
      exitCode,
      stdout: String(result.stdout ?? ""),
      stderr: String(result.stderr ?? (exitCode === 127 ? result.shortMessage : "")),
      ...((result as { code?: string }).code === "ENOENT" ? { missing: true as const } : {}),
      ...(stopped ? { stopped } : {}),
    };
  }

  act(cmd: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
    return this.run(cmd, args, options);
  }

  async withScratchFile<T>(name: string, data: Buffer | string, use: (hostPath: HostPath) => Promise<T>): Promise<T> {
    // Private to root (the text may hold the Spamhaus key): exim and dovecot,
    // run by root, read a -C/-c file as root, and exim refuses one that root
    // does not own (docs/architecture.md, modes). In a directory of ours,
    // where the next config test removes what a killed run left.
    const dir = explained(SCRATCH_DIR, () => {
      mkdirSync(SCRATCH_DIR, { mode: 0o700, recursive: true });
      if (!lstatSync(SCRATCH_DIR).isDirectory()) throw new RefusedError(problem(SCRATCH_DIR, "is not a directory", "remove it; makefilecheck makes it again"));
      removeStaleScratch();
      tempCounter += 1;
      const made = `${SCRATCH_DIR}/${tempName("scratch", process.pid, tempCounter)}`;
      mkdirSync(made, { mode: 0o700 });
      chmodSync(made, 0o700);
      return made;
    });
    try {
      const file = `${dir}/${posix.basename(name)}`;
      writeFileSync(file, data, { mode: 0o600, flag: "wx" });
      return await use(hostPath(file));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async watchDirs(roots: HostPath[], options: WatchOptions): Promise<DirWatch> {
    const { watch } = await import("chokidar");
    const watcher = watch(roots, {
      ignoreInitial: true,
      usePolling: false,
      followSymlinks: false,
      ignored: (path, stats) => options.ignored(hostPath(path), stats),
    });
    // Raw events come from the directory watches with the entry's name, at
    // once: no watch per file, and none of chokidar's once-a-second rescans.
    watcher.on("raw", (_event, name, details) => {
      const dir = (details as { watchedPath?: string }).watchedPath;
      if (name && dir) options.onChange(hostPath(posix.join(dir, name)));
    });
    watcher.on("error", options.onError);
    await new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
    return { close: () => watcher.close() };
  }

  /**
   * Refuses a write whose parent directories below the root include a
   * symlink. A sync writes hundreds of files into a few directories, so a
   * directory once checked is remembered until this run removes or renames
   * something that could change what a path is.
   */
  private assertPlainParents(path: ServerPath): void {
    const parts = serverPath(path).split("/").filter(Boolean);
    let walked = ROOT;
    for (const part of parts.slice(0, -1)) {
      walked = childPath(walked, part);
      if (this.plainDirs.has(walked)) continue;
      const st = this.stat(walked);
      if (st?.type === "dir") this.plainDirs.add(walked);
      if (st && st.type !== "dir") {
        throw new RefusedError(
          problem(walked, `is a ${st.type === "link" ? "symlink" : st.type}, not a directory`, `refusing to write ${path} through it`),
        );
      }
    }
  }

  writeFile(path: ServerPath, data: Buffer | string, attrs: Attrs = {}): void {
    this.assertPlainParents(path);
    const host = this.hostPath(path);
    const old = this.stat(path);
    const keep = old?.type === "file" ? old : undefined;
    const mode = attrs.mode ?? keep?.mode ?? 0o644;
    const uid = attrs.uid ?? keep?.uid;
    const gid = attrs.gid ?? keep?.gid;
    const temp = tempSibling(host);
    this.guard(path, () => {
      const fd = openSync(temp, "wx", 0o600);
      try {
        writeFileSync(fd, data);
        if (uid !== undefined && gid !== undefined) fchownSync(fd, uid, gid);
        fchmodSync(fd, mode);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      try {
        renameSync(temp, host);
      } catch (err) {
        rmSync(temp, { force: true });
        throw err;
      }
      this.unsyncedDirs.add(posix.dirname(host));
    });
  }

  symlink(target: string, path: ServerPath, attrs: Attrs = {}): void {
    this.assertPlainParents(path);
    const host = this.hostPath(path);
    const temp = tempSibling(host);
    this.guard(path, () => {
      symlinkSync(target, temp);
      if (attrs.uid !== undefined && attrs.gid !== undefined) lchownSync(temp, attrs.uid, attrs.gid);
      try {
        renameSync(temp, host);
      } catch (err) {
        rmSync(temp, { force: true });
        throw err;
      }
      this.unsyncedDirs.add(posix.dirname(host));
    });
  }

  mkdir(path: ServerPath, attrs: Attrs = {}): void {
    const parts = serverPath(path).split("/").filter(Boolean);
    let walked = ROOT;
    for (const part of parts) {
      walked = childPath(walked, part);
      const st = this.stat(walked);
      if (st?.type === "dir") continue;
      if (st) throw new RefusedError(problem(walked, `is a ${st.type === "link" ? "symlink" : st.type}, not a directory`));
      this.guard(walked, () => {
        const host = this.hostPath(walked);
        mkdirSync(host, { mode: attrs.mode ?? 0o755 });
        if (attrs.uid !== undefined && attrs.gid !== undefined) chownSync(host, attrs.uid, attrs.gid);
        if (attrs.mode !== undefined) chmodSync(host, attrs.mode);
      });
    }
  }

  chmod(path: ServerPath, mode: number): void {
    this.assertPlainParents(path);
    const st = this.stat(path);
    if (!st) return;
    if (st.type !== "file") throw new RefusedError(problem(path, `is a ${st.type === "link" ? "symlink" : st.type}, not a file`, `refusing to change its mode`));
    this.guard(path, () => {
      // O_NOFOLLOW: a link put there since the lstat is refused, not followed.
      const fd = openSync(this.hostPath(path), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      try {
        fchmodSync(fd, mode);
      } finally {
        closeSync(fd);
      }
    });
  }

  remove(path: ServerPath): void {
    this.assertPlainParents(path);
    const st = this.stat(path);
    if (!st) return;
    if (st.type === "dir") this.plainDirs.clear();
    this.guard(path, () => {
      if (st.type === "dir") rmdirSync(this.hostPath(path));
      else unlinkSync(this.hostPath(path));
    });
    this.unsyncedDirs.add(posix.dirname(this.hostPath(path)));
  }

  rename(from: ServerPath, to: ServerPath): void {
    this.assertPlainParents(from);
    this.assertPlainParents(to);
    this.plainDirs.clear();
    this.guard(from, () => renameSync(this.hostPath(from), this.hostPath(to)));
    this.unsyncedDirs.add(posix.dirname(this.hostPath(from)));
    this.unsyncedDirs.add(posix.dirname(this.hostPath(to)));
  }

  flush(): void {
    for (const dir of this.unsyncedDirs) syncDir(dir);
    this.unsyncedDirs.clear();
  }

  removeStaleTemps(dirs: ServerPath[], deep: boolean): ServerPath[] {
    const removed: ServerPath[] = [];
    const visit = (dir: ServerPath): void => {
      if (this.stat(dir)?.type !== "dir") return;
      for (const { name, type } of this.listDetailed(dir, () => false)) {
        const path = childPath(dir, name);
        const pid = tempOwner(name);
        if (pid !== null && type !== "dir" && pid !== process.pid && !processExists(pid)) {
          this.remove(path);
          removed.push(path);
        } else if (deep && type === "dir") {
          visit(path);
        }
      }
    };
    for (const dir of dirs) visit(dir);
    return removed;
  }

  /**
   * The kernel lock belongs to the open file: it lasts while the returned
   * release keeps the file open, and ends with this process however it
   * ends. The holder removes the file when it lets go (a run leaves no
   * trace), so a waiter that gets the lock of a file already removed opens
   * the new one and waits again.
   */
  async lock(path: ServerPath, waitMs: number): Promise<() => Promise<void>> {
    const host = this.hostPath(path);
    this.mkdir(serverPath(posix.dirname(path)), { mode: 0o755 });
    const deadline = Date.now() + waitMs;
    for (;;) {
      const fd = this.guard(path, () => openSync(host, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600));
      let outcome: { code: number; stderr: string };
      try {
        outcome = await flockFd(fd, Math.max(0, deadline - Date.now()));
      } catch (err) {
        closeSync(fd);
        throw explain(path, err);
      }
      if (outcome.code !== 0) {
        closeSync(fd);
        if (outcome.code === FLOCK_BUSY) {
          throw new LockHeldError(
            problem(path, `another makefilecheck run holds the lock (waited ${waitMs / 1000} s)`, "wait for it to finish, then run this again"),
          );
        }
        throw new EnvironmentError(problem(path, `flock failed (exit ${outcome.code}): ${outcome.stderr.trim()}`, "check that util-linux's flock is installed"));
      }
      if (fstatSync(fd).ino === lstatHost(host, path)?.ino) {
        return async () => {
          try {
            this.guard(path, () => unlinkSync(host));
          } finally {
            closeSync(fd);
          }
        };
      }
      closeSync(fd);
    }
  }
}

/** The exit code flock is told to use when the lock stays busy (sysexits' EX_TEMPFAIL). */
const FLOCK_BUSY = 75;

/**
 * Takes an exclusive kernel lock on the open file `fd` with util-linux
 * flock, handed the descriptor as its fd 3: the lock is on the open file,
 * which this process keeps after flock exits.
 */
function flockFd(fd: number, waitMs: number): Promise<{ code: number; stderr: string }> {
  const wait = waitMs > 0 ? ["-w", String(waitMs / 1000)] : ["-n"];
  // Node's spawn, not execa (which runs every other program): execa takes
  // no bare descriptor beyond stdin, stdout and stderr, and flock must get
  // the open lock file itself as its fd 3.
  return new Promise((resolve, reject) => {
    const child = spawn("flock", ["-x", ...wait, "-E", String(FLOCK_BUSY), "3"], { stdio: ["ignore", "ignore", "pipe", fd] });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stderr }));
  });
}

/**
 * Sorts names by their bytes. Without surrogate pairs, UTF-16 code-unit
 * order is UTF-8 byte order, so the default sort gives it without making
 * two Buffers per comparison (drift lists thousands of names).
 */
function sortBytewise(names: string[]): string[] {
  return names.some((n) => /[\uD800-\uDFFF]/.test(n)) ? names.sort(byteOrder) : names.sort();
}

/** sortBytewise for directory entries, by name. */
function sortByName(dirents: Dirent[]): Dirent[] {
  if (dirents.some((d) => /[\uD800-\uDFFF]/.test(d.name))) return dirents.sort((a, b) => byteOrder(a.name, b.name));
  return dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Orders names by their bytes, as `sort` in the C locale does. */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Clock ticks per second in /proc's times: USER_HZ, which the kernel fixes
 * at 100 for user space on every architecture Debian ships.
 */
const USER_HZ = 100;

/**
 * A host process from /proc/PID/stat. Its start is counted in ticks since
 * boot; /proc/uptime (to 10 ms) turns that into a time, where /proc/stat's
 * btime would be off by up to a second.
 */
function procStat(pid: number): ProcessInfo | null {
  let stat: string;
  let uptime: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    uptime = readFileSync("/proc/uptime", "utf8");
  } catch {
    return null;
  }
  const now = Date.now();
  // The name is in parentheses and may hold spaces or parentheses itself.
  const open = stat.indexOf("(");
  const close = stat.lastIndexOf(")");
  const fields = stat.slice(close + 2).split(" ");
  const [state, ppid] = fields;
  const ticks = Number(fields[19]);
  const up = Number(uptime.split(" ")[0]);
  if (open < 0 || close < open || state === "Z" || state === "X" || !Number.isFinite(ticks) || !Number.isFinite(up)) return null;
  return { pid, ppid: Number(ppid), name: stat.slice(open + 1, close), startedMs: Math.round(now - up * 1000 + (ticks * 1000) / USER_HZ) };
}

/** Makes a rename durable: fsync the directory that holds it. */
function syncDir(hostDir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(hostDir, "r");
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the rename still happened.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
