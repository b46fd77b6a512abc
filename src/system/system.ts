/**
 * The one interface through which makefilecheck touches the disk or runs a
 * program. Every path is a ServerPath (`/etc/exim4/Makefile`); an
 * implementation maps it under its root, and says where that is as a
 * HostPath (src/paths.ts). Wrappers (dry-run, read-only,
 * fault-injecting) stack on the real one; the CLI wiring picks the stack.
 */
import { childPath } from "../paths.js";
import type { HostPath, ServerPath } from "../paths.js";

/** What lstat tells of a path; a symlink is reported as itself, never followed. */
export interface Entry {
  type: "file" | "dir" | "link" | "other";
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /**
   * Identity and change times, when the System knows them: together with
   * size they tell a file that may have changed from one that has not,
   * without reading it (the drift stat cache).
   */
  ino?: number;
  mtimeMs?: number;
  ctimeMs?: number;
}

/**
 * What reading a small input file gave (Reader.readSmallFile): its bytes
 * and its mode and owner, or what stood there instead of a regular file.
 */
export type SmallFile =
  | { data: Buffer; mode: number; uid: number; gid: number }
  | { refused: "missing" | "link" | "dir" | "other" | "too-big" };

/** One name of a directory listing (see Reader.listDetailed). */
export interface Listed {
  name: string;
  /** The type the directory itself records for the name. */
  type: Entry["type"];
  /** The name's lstat, when the caller asked for it; null when it vanished after the listing. */
  entry?: Entry | null;
}

/** Owner, group and permission bits a write may set. */
export interface Attrs {
  mode?: number;
  uid?: number;
  gid?: number;
}

/** The outcome of a program run; a program that could not start has exitCode 127. */
export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Set when the program does not exist (ENOENT at spawn): the one failure that means "not installed". */
  missing?: true;
  /** How the run was cut short: the signal that killed it, or our own time limit. */
  stopped?: { signal: string } | { timeoutMs: number };
  /** Set when the program was not run but recorded (an action under --dry-run). */
  recorded?: true;
}

/** Options of a program run. */
export interface RunOptions {
  /** Working directory, a server path. */
  cwd?: ServerPath;
  timeoutMs?: number;
  env?: Record<string, string>;
  /**
   * Runs the program in a session of its own, so that a Ctrl-C at the
   * terminal (SIGINT to the whole foreground process group) does not reach
   * it: for a child the caller lets finish before it stops itself.
   */
  detached?: boolean;
}

/** A process of the host, as its /proc tells (whatever --root is: processes are not under it). */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** The command name the kernel keeps (`exim4`, `dovecot`, `config`). */
  name: string;
  /** When it started, in ms since the epoch (to about 10 ms). */
  startedMs: number;
}

/** What a directory watch reports and asks; every path here is a host path. */
export interface WatchOptions {
  /** True keeps a path (and, for a directory, what is below it) out of the watch. */
  ignored: (hostPath: HostPath, entry?: { isDirectory(): boolean }) => boolean;
  /** An entry of a watched directory was created, changed, renamed or removed. */
  onChange: (hostPath: HostPath) => void;
  onError: (err: unknown) => void;
}

/** A running directory watch. */
export interface DirWatch {
  close(): Promise<void>;
}

/** The reading half: safe to give to any command. */
export interface Reader {
  /** The host directory that `/` maps to (`/` in production). */
  readonly root: HostPath;
  /** The host path of a server path, for messages and program arguments. */
  hostPath(path: ServerPath): HostPath;
  /** lstat: null when nothing is there. */
  stat(path: ServerPath): Entry | null;
  /**
   * The bytes of a file. `sizeHint`, the size an lstat just reported,
   * spares asking for it again (a scan reads thousands of files); a file
   * that has grown or shrunk since is still read whole.
   */
  readFile(path: ServerPath, sizeHint?: number): Buffer;
  /**
   * A file the admin names as input (a settings file), read so that it
   * cannot lead us elsewhere or hang us: never through a symlink
   * (O_NOFOLLOW), opened without blocking (O_NONBLOCK: a FIFO cannot
   * stall the open), then fstat: only a regular file of at most `maxBytes`
   * is read; anything else is `refused` with what it is.
   */
  readSmallFile(path: ServerPath, maxBytes: number): SmallFile;
  readLink(path: ServerPath): string;
  /** Names in a directory, sorted bytewise. */
  list(path: ServerPath): string[];
  /**
   * Names in a directory with their types, sorted bytewise, from one read
   * of the directory; the names `detail` picks also get an lstat
   * (`entry`). For scans of thousands of files: no lstat of directories
   * or of names the scan passes over.
   */
  listDetailed(path: ServerPath, detail: (name: string, type: Entry["type"]) => boolean): Listed[];
  /** The host process `pid`; null when none runs (a zombie counts as gone). */
  process(pid: number): ProcessInfo | null;
  /** The running host processes whose parent is `pid`. */
  childProcesses(pid: number): ProcessInfo[];
  /**
   * Runs a read-only probe (not through a shell): a program that only
   * looks, such as a daemon's config test. Paths in args must be host
   * paths. A program that changes anything is an action (System.act).
   */
  run(cmd: string, args: string[], options?: RunOptions): Promise<RunResult>;
  /**
   * Gives `use` a private host file holding `data`, outside every managed
   * tree, removed again when `use` settles: for config tests of text that is
   * not on disk yet. Only root may read it (a 0600 file in a 0700
   * directory): the text may hold a secret. A killed run's is removed by
   * the next call.
   */
  withScratchFile<T>(name: string, data: Buffer | string, use: (hostPath: HostPath) => Promise<T>): Promise<T>;
  /**
   * Watches the directories below `roots` (host paths) for changes of their
   * entries, by inotify, never by polling; resolves once the watch is set up.
   */
  watchDirs(roots: HostPath[], options: WatchOptions): Promise<DirWatch>;
}

/** The writing half. Every write is atomic and never goes through a symlink. */
export interface System extends Reader {
  /** Writes via a temp file in the same directory, fsync, rename: replaces a link, never follows it. */
  writeFile(path: ServerPath, data: Buffer | string, attrs?: Attrs): void;
  /** Creates or replaces a symlink atomically (temp link, rename over). */
  symlink(target: string, path: ServerPath, attrs?: Attrs): void;
  /** Creates a directory and any missing parents, giving new ones `attrs`. */
  mkdir(path: ServerPath, attrs?: Attrs): void;
  /**
   * Sets a regular file's permission bits, never through a link (a link or
   * anything else but a file is refused); nothing there is fine.
   */
  chmod(path: ServerPath, mode: number): void;
  /** Removes a file, a link or an empty directory; nothing there is fine. */
  remove(path: ServerPath): void;
  rename(from: ServerPath, to: ServerPath): void;
  /**
   * Makes the renames and removals so far durable (fsync of each directory
   * they touched, once). Each file is fsynced before its rename already; the
   * directories are done together because a sync writes hundreds of files
   * into a few of them.
   */
  flush(): void;
  /**
   * Takes the run lock at `path`, waiting up to `waitMs`; resolves to a
   * release function. Throws EnvironmentError when another run holds it.
   */
  lock(path: ServerPath, waitMs: number): Promise<() => Promise<void>>;
  /**
   * Runs an action (not through a shell): a program that changes the
   * server, such as make, a reload or a child run of this tool. Only a
   * System has it: a dry-run System records it and a read-only one refuses
   * it, so neither can run one, whatever the caller checks.
   */
  act(cmd: string, args: string[], options?: RunOptions): Promise<RunResult>;
  /**
   * Removes the temp files and links this System's atomic writes leave
   * behind when their process dies between creating and renaming them
   * (`tempName`), in `dirs` (and below them when `deep`), but only
   * those whose process is gone. Returns the server paths removed.
   */
  removeStaleTemps(dirs: ServerPath[], deep: boolean): ServerPath[];
}

/**
 * What marks a temp file or directory of ours: `.NAME.makefilecheck-tmp-PID-N`.
 * The program's name in it keeps an admin's own file (`.keepme.mfc-999999-1`)
 * from ever being taken for one.
 */
const TEMP_NAME = /^\..+\.makefilecheck-tmp-(\d+)-\d+$/;

/** The name of a temp file for `base`, the `n`th of process `pid`. */
export function tempName(base: string, pid: number, n: number): string {
  return `.${base}.makefilecheck-tmp-${pid}-${n}`;
}

/** The pid of the process that made temp file `name`; null for any other name. */
export function tempOwner(name: string): number | null {
  const pid = TEMP_NAME.exec(name)?.[1];
  return pid === undefined ? null : Number(pid);
}

/**
 * listDetailed for a Reader that has no cheaper way (a view that lays
 * planned writes over the disk): list, then lstat every name.
 */
export function listByStat(sys: Reader, path: ServerPath, detail: (name: string, type: Entry["type"]) => boolean): Listed[] {
  const out: Listed[] = [];
  for (const name of sys.list(path)) {
    const entry = sys.stat(childPath(path, name));
    if (entry) out.push(detail(name, entry.type) ? { name, type: entry.type, entry } : { name, type: entry.type });
  }
  return out;
}

/**
 * A Reader that passes every call to `inner`: the base of the Systems
 * stacked on another (wrappers.ts) and of the planned view (overlay.ts),
 * which override only what they change.
 */
export abstract class PassThrough<Inner extends Reader = Reader> implements Reader {
  constructor(protected readonly inner: Inner) {}

  get root(): HostPath {
    return this.inner.root;
  }
  hostPath(path: ServerPath): HostPath {
    return this.inner.hostPath(path);
  }
  stat(path: ServerPath): Entry | null {
    return this.inner.stat(path);
  }
  readFile(path: ServerPath, sizeHint?: number): Buffer {
    return this.inner.readFile(path, sizeHint);
  }
  readSmallFile(path: ServerPath, maxBytes: number): SmallFile {
    return this.inner.readSmallFile(path, maxBytes);
  }
  readLink(path: ServerPath): string {
    return this.inner.readLink(path);
  }
  list(path: ServerPath): string[] {
    return this.inner.list(path);
  }
  listDetailed(path: ServerPath, detail: (name: string, type: Entry["type"]) => boolean): Listed[] {
    return this.inner.listDetailed(path, detail);
  }
  process(pid: number): ProcessInfo | null {
    return this.inner.process(pid);
  }
  childProcesses(pid: number): ProcessInfo[] {
    return this.inner.childProcesses(pid);
  }
  run(cmd: string, args: string[], options?: RunOptions): Promise<RunResult> {
    return this.inner.run(cmd, args, options);
  }
  withScratchFile<T>(name: string, data: Buffer | string, use: (hostPath: HostPath) => Promise<T>): Promise<T> {
    return this.inner.withScratchFile(name, data, use);
  }
  watchDirs(roots: HostPath[], options: WatchOptions): Promise<DirWatch> {
    return this.inner.watchDirs(roots, options);
  }
}
