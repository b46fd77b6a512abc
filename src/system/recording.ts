/**
 * A Reader that notes what each read it passes on rests on: for every path
 * it touched, the lstat stamp taken before the read (or that nothing was
 * there). While none of those stamps has changed, the same reads give the
 * same answers, so a result computed from them alone can be reused
 * (`status`'s memo, src/makefilecheck/status-memo.ts; docs/architecture.md,
 * Budgets). A read that a stamp cannot vouch for (a file read through a
 * symlink, a process, a program's output) or that failed (permission
 * denied is not a fact about the files) makes the record unusable.
 */
import { childPath } from "../paths.js";
import type { HostPath, ServerPath } from "../paths.js";
import type { DirWatch, Entry, Listed, ProcessInfo, Reader, RunOptions, RunResult, SmallFile, WatchOptions } from "./system.js";

/** What stands for a path's state: type, inode, size and change times; null for nothing there. */
export type PathStamp = [type: Entry["type"], ino: number, size: number, mtimeMs: number, ctimeMs: number] | null;

/** The stamp of an lstat; undefined when the System gives no inode or times. */
export function stampOf(entry: Entry | null): PathStamp | undefined {
  if (entry === null) return null;
  if (entry.ino === undefined || entry.mtimeMs === undefined || entry.ctimeMs === undefined) return undefined;
  return [entry.type, entry.ino, entry.size, entry.mtimeMs, entry.ctimeMs];
}

/** True when two stamps say the same. */
export function sameStamp(a: PathStamp, b: PathStamp): boolean {
  if (a === null || b === null) return a === b;
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3] && a[4] === b[4];
}

export class RecordingReader implements Reader {
  /** Every path read, with its stamp from before the first read of it. */
  readonly stamps = new Map<ServerPath, PathStamp>();
  /** False once a read happened that the stamps cannot vouch for. */
  usable = true;

  constructor(private readonly inner: Reader) {}

  get root(): HostPath {
    return this.inner.root;
  }
  hostPath(path: ServerPath): HostPath {
    return this.inner.hostPath(path);
  }
  stat(path: ServerPath): Entry | null {
    const entry = this.guard(() => this.inner.stat(path));
    this.note(path, entry);
    return entry;
  }
  readFile(path: ServerPath, sizeHint?: number): Buffer {
    this.expect(path, "file");
    return this.guard(() => this.inner.readFile(path, sizeHint));
  }
  readSmallFile(path: ServerPath, maxBytes: number): SmallFile {
    this.expect(path, "file");
    return this.guard(() => this.inner.readSmallFile(path, maxBytes));
  }
  readLink(path: ServerPath): string {
    this.expect(path, "link");
    return this.guard(() => this.inner.readLink(path));
  }
  list(path: ServerPath): string[] {
    this.expect(path, "dir");
    return this.guard(() => this.inner.list(path));
  }
  listDetailed(path: ServerPath, detail: (name: string, type: Entry["type"]) => boolean): Listed[] {
    this.expect(path, "dir");
    const items = this.guard(() => this.inner.listDetailed(path, detail));
    for (const item of items) if (item.entry !== undefined) this.note(childPath(path, item.name), item.entry);
    return items;
  }
  process(pid: number): ProcessInfo | null {
    this.usable = false;
    return this.inner.process(pid);
  }
  childProcesses(pid: number): ProcessInfo[] {
    this.usable = false;
    return this.inner.childProcesses(pid);
  }
  run(cmd: string, args: string[], options?: RunOptions): Promise<RunResult> {
    this.usable = false;
    return this.inner.run(cmd, args, options);
  }
  withScratchFile<T>(name: string, data: Buffer | string, use: (hostPath: HostPath) => Promise<T>): Promise<T> {
    this.usable = false;
    return this.inner.withScratchFile(name, data, use);
  }
  watchDirs(roots: HostPath[], options: WatchOptions): Promise<DirWatch> {
    this.usable = false;
    return this.inner.watchDirs(roots, options);
  }

  /** Stamps `path` before it is read, unless it is stamped already; what is there must be a `type`. */
  private expect(path: ServerPath, type: Entry["type"]): void {
    let stamp = this.stamps.get(path);
    if (stamp === undefined) {
      this.note(path, this.guard(() => this.inner.stat(path)));
      stamp = this.stamps.get(path);
    }
    // A file read through a link, or a directory listed through one, is the target's: its stamp is not the link's.
    if (!stamp || stamp[0] !== type) this.usable = false;
  }

  /** Keeps the first stamp of `path`; a path seen changed within the run makes the record unusable. */
  private note(path: ServerPath, entry: Entry | null): void {
    const stamp = stampOf(entry);
    if (stamp === undefined) {
      this.usable = false;
      return;
    }
    const first = this.stamps.get(path);
    if (first === undefined) this.stamps.set(path, stamp);
    else if (!sameStamp(first, stamp)) this.usable = false;
  }

  private guard<T>(read: () => T): T {
    try {
      return read();
    } catch (err) {
      this.usable = false;
      throw err;
    }
  }
}
