/**
 * Systems stacked on another: each passes reads through and decides what a
 * write does. Dry-run drops writes and remembers them, read-only refuses
 * them, cache-only allows them inside one directory, fault-injecting fails
 * the Nth one. Tests use read-only and fault-injecting to prove that a
 * reading command cannot write and that a failed apply is reported.
 */
import type { ServerPath } from "../paths.js";
import { isInside } from "./safe-path.js";
import { PassThrough } from "./system.js";
import type { Attrs, RunOptions, RunResult, System } from "./system.js";

/** One write (or action) as a wrapper saw it. */
export interface WriteCall {
  method: "writeFile" | "symlink" | "mkdir" | "chmod" | "remove" | "rename" | "act";
  args: unknown[];
}

/** Passes reads to `inner`; every write goes through `write`. */
abstract class Wrapper extends PassThrough implements System {
  /** Decides what one write does; `perform` runs it on the inner system. */
  protected abstract write(call: WriteCall, perform: (sys: System) => void): void;

  writeFile(path: ServerPath, data: Buffer | string, attrs?: Attrs): void {
    this.write({ method: "writeFile", args: [path, data, attrs] }, (s) => s.writeFile(path, data, attrs));
  }
  symlink(target: string, path: ServerPath, attrs?: Attrs): void {
    this.write({ method: "symlink", args: [target, path, attrs] }, (s) => s.symlink(target, path, attrs));
  }
  mkdir(path: ServerPath, attrs?: Attrs): void {
    this.write({ method: "mkdir", args: [path, attrs] }, (s) => s.mkdir(path, attrs));
  }
  chmod(path: ServerPath, mode: number): void {
    this.write({ method: "chmod", args: [path, mode] }, (s) => s.chmod(path, mode));
  }
  remove(path: ServerPath): void {
    this.write({ method: "remove", args: [path] }, (s) => s.remove(path));
  }
  rename(from: ServerPath, to: ServerPath): void {
    this.write({ method: "rename", args: [from, to] }, (s) => s.rename(from, to));
  }
  lock(path: ServerPath, waitMs: number): Promise<() => Promise<void>> {
    return (this.inner as System).lock(path, waitMs);
  }
  flush(): void {
    (this.inner as Partial<System>).flush?.();
  }
  removeStaleTemps(dirs: ServerPath[], deep: boolean): ServerPath[] {
    return (this.inner as System).removeStaleTemps(dirs, deep);
  }
  act(cmd: string, args: string[], options?: RunOptions): Promise<RunResult> {
    return (this.inner as System).act(cmd, args, options);
  }
}

/** Drops every write and remembers it: `--dry-run`. Takes no lock. */
export class DryRunSystem extends Wrapper {
  readonly calls: WriteCall[] = [];
  protected write(call: WriteCall): void {
    this.calls.push(call);
  }
  override async lock(): Promise<() => Promise<void>> {
    return async () => {};
  }
  override removeStaleTemps(): ServerPath[] {
    return [];
  }
  override async act(cmd: string, args: string[], options?: RunOptions): Promise<RunResult> {
    this.calls.push({ method: "act", args: [cmd, args, options] });
    return { exitCode: 0, stdout: "", stderr: "", recorded: true };
  }
}

/** Refuses every write: what commands that only read are given. */
export class ReadOnlySystem extends Wrapper {
  protected write(call: WriteCall): void {
    throw new Error(`internal error: a read-only command tried ${call.method}(${String(call.args[0])})`);
  }
  override async lock(): Promise<() => Promise<void>> {
    throw new Error("internal error: a read-only command asked for the run lock");
  }
  override removeStaleTemps(): ServerPath[] {
    throw new Error("internal error: a read-only command tried to remove temp files");
  }
  override async act(cmd: string): Promise<RunResult> {
    throw new Error(`internal error: a read-only command tried to run ${cmd}`);
  }
}

/**
 * Writes inside one directory and refuses everything else: the System a
 * reading command refreshes its caches through, so that it still cannot
 * touch anything the admin owns.
 */
export class CacheOnlySystem extends Wrapper {
  constructor(
    inner: System,
    private readonly dir: ServerPath,
  ) {
    super(inner);
  }
  protected write(call: WriteCall, perform: (sys: System) => void): void {
    const paths = (call.method === "rename" ? call.args.slice(0, 2) : call.method === "symlink" ? call.args.slice(1, 2) : call.args.slice(0, 1)) as ServerPath[];
    if (call.method === "act" || !paths.every((p) => isInside(this.dir, p))) throw new Error(`internal error: a cache writer tried ${call.method}(${String(call.args[0])})`);
    perform(this.inner as System);
  }
  override async lock(): Promise<() => Promise<void>> {
    throw new Error("internal error: a cache writer asked for the run lock");
  }
  override removeStaleTemps(): ServerPath[] {
    throw new Error("internal error: a cache writer tried to remove temp files");
  }
  override async act(cmd: string): Promise<RunResult> {
    throw new Error(`internal error: a cache writer tried to run ${cmd}`);
  }
}

/** Performs writes until the `failAt`th (1-based), which throws an I/O error. */
export class FaultySystem extends Wrapper {
  private count = 0;
  /** The write it failed, once it has. */
  failed: WriteCall | null = null;
  /** How many writes it has seen (the fault matrix counts a run's writes with a failAt it never reaches). */
  get writes(): number {
    return this.count;
  }
  constructor(
    inner: System,
    private readonly failAt: number,
  ) {
    super(inner);
  }
  protected write(call: WriteCall, perform: (sys: System) => void): void {
    this.count += 1;
    if (this.count === this.failAt) {
      this.failed = call;
      const err = new Error(`EIO: injected fault in ${call.method}(${String(call.args[0])})`) as NodeJS.ErrnoException;
      err.code = "EIO";
      throw err;
    }
    perform(this.inner as System);
  }
}
