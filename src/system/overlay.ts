/**
 * A view of the disk as it will be once a plan is applied, without applying
 * it: install runs the daemon's config test and plans `use local` on this
 * view, so a config the daemon rejects is refused before anything is
 * written, under --dry-run too. Writes through it are refused.
 */
import { posix } from "node:path";
import type { ServerPath } from "../paths.js";
import { byteOrder } from "./real.js";
import type { DirWatch, Entry, Listed, RunResult, SmallFile, System } from "./system.js";
import { listByStat, PassThrough } from "./system.js";

/**
 * What a path will hold once the plan is applied; null when it will be
 * gone. src/plan.ts turns a plan into these (plannedContents), so this
 * layer need not know the plan's steps.
 */
export type Planned = { type: "file"; data: Buffer; mode: number } | { type: "link"; target: string } | { type: "dir"; mode: number } | null;

/** The system `inner` with the `planned` contents laid over it for reading. */
export class PlannedView extends PassThrough<System> implements System {
  constructor(
    inner: System,
    private readonly planned: ReadonlyMap<ServerPath, Planned>,
  ) {
    super(inner);
  }

  override stat(path: ServerPath): Entry | null {
    if (!this.planned.has(path)) return this.inner.stat(path);
    const p = this.planned.get(path);
    if (!p) return null;
    const size = p.type === "file" ? p.data.length : 0;
    return { type: p.type, mode: p.type === "link" ? 0o777 : p.mode, uid: 0, gid: 0, size };
  }
  override readFile(path: ServerPath): Buffer {
    const p = this.planned.get(path);
    if (p?.type === "file") return p.data;
    return this.inner.readFile(path);
  }
  override readSmallFile(path: ServerPath, maxBytes: number): SmallFile {
    if (!this.planned.has(path)) return this.inner.readSmallFile(path, maxBytes);
    const p = this.planned.get(path);
    if (!p) return { refused: "missing" };
    if (p.type !== "file") return { refused: p.type };
    return p.data.length > maxBytes ? { refused: "too-big" } : { data: p.data, mode: p.mode, uid: 0, gid: 0 };
  }
  override readLink(path: ServerPath): string {
    const p = this.planned.get(path);
    if (p?.type === "link") return p.target;
    return this.inner.readLink(path);
  }
  override list(path: ServerPath): string[] {
    const names = new Set(this.inner.stat(path)?.type === "dir" ? this.inner.list(path) : []);
    for (const [p, entry] of this.planned) {
      if (posix.dirname(p) !== path) continue;
      if (entry) names.add(posix.basename(p));
      else names.delete(posix.basename(p));
    }
    return [...names].sort(byteOrder);
  }
  override listDetailed(path: ServerPath, detail: (name: string, type: Entry["type"]) => boolean): Listed[] {
    return listByStat(this, path, detail);
  }

  override watchDirs(): Promise<DirWatch> {
    this.refuse();
  }

  private refuse(): never {
    throw new Error("internal error: something tried to write through the planned view");
  }
  writeFile(): void {
    this.refuse();
  }
  flush(): void {
    this.refuse();
  }
  symlink(): void {
    this.refuse();
  }
  mkdir(): void {
    this.refuse();
  }
  chmod(): void {
    this.refuse();
  }
  remove(): void {
    this.refuse();
  }
  rename(): void {
    this.refuse();
  }
  lock(): Promise<() => Promise<void>> {
    this.refuse();
  }
  removeStaleTemps(): ServerPath[] {
    this.refuse();
  }
  act(): Promise<RunResult> {
    this.refuse();
  }
}
