/**
 * Runs the built `bin/makefilecheck watch --json` as a child process and
 * lets a caller wait for its output lines (with a timeout, never a fixed
 * sleep). Shared by test/watch.test.ts and scripts/bench/watch.ts.
 */
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { jsonDocument } from "./support/json-schema.js";

/** The launcher the tests and the bench run. */
export const BIN = fileURLToPath(new URL("../bin/makefilecheck", import.meta.url));
const BUILT = fileURLToPath(new URL("../dist/makefilecheck.cjs", import.meta.url));

/** One parsed output line of `watch --json`, with the time it was read. */
export type WatchLine = Record<string, unknown> & { readAt: number };

/** Runs the CLI to completion (for setting a tree up); throws on an unexpected exit code. */
export function cli(root: string, args: string[], okCodes = [0]): string {
  const r = spawnSync(process.execPath, [BIN, ...args, "--root", root], { encoding: "utf8" });
  if (!okCodes.includes(r.status ?? -1)) throw new Error(`makefilecheck ${args.join(" ")} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A running watcher. */
export class WatchChild {
  readonly lines: WatchLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private waiters: Array<() => void> = [];
  private buffer = "";

  /** `ownGroup`: start the watcher as the leader of a process group, as a shell does a foreground job (see interruptGroup). */
  constructor(root: string, extra: string[] = [], { ownGroup = false } = {}) {
    if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run npm run build first`);
    this.child = spawn(process.execPath, [BIN, "watch", "--json", "--root", root, ...extra], { stdio: ["ignore", "pipe", "pipe"], detached: ownGroup });
    this.child.stdout!.setEncoding("utf8").on("data", (chunk: string) => this.take(chunk));
    this.child.stderr!.setEncoding("utf8").on("data", (chunk: string) => this.stderr.push(chunk));
    this.exited = new Promise((resolve) => this.child.on("exit", (code) => {
      this.wake();
      resolve(code);
    }));
  }

  /** The child's pid (for /proc readings). */
  get pid(): number {
    return this.child.pid!;
  }

  /** True while the watcher process runs. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private take(chunk: string): void {
    this.buffer += chunk;
    const parts = this.buffer.split("\n");
    this.buffer = parts.pop() ?? "";
    for (const part of parts) if (part.trim()) this.lines.push({ ...(jsonDocument(part) as Record<string, unknown>), readAt: performance.now() });
    this.wake();
  }

  private wake(): void {
    this.waiters.splice(0).forEach((w) => w());
  }

  /** Resolves with the first line (from `from` on) matching `pred`; rejects after `timeoutMs` or if the watcher exits. */
  async waitFor(pred: (l: WatchLine) => boolean, timeoutMs = 30_000, from = 0): Promise<WatchLine> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.slice(from).find(pred);
      if (hit) return hit;
      if (!this.running) throw new Error(`watcher exited before the line came; stderr: ${this.stderr.join("")}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no matching watch line within ${timeoutMs} ms; got: ${JSON.stringify(this.lines.map(({ text }) => text))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The lines reporting `action` (e.g. "sync"). */
  actions(action: string): WatchLine[] {
    return this.lines.filter((l) => l.event === "action" && l.action === action);
  }

  /**
   * Resolves once a child process of the watcher runs with `word` among its
   * arguments (read from Linux's /proc); rejects after `timeoutMs`.
   */
  async waitForChildRunning(word: string, timeoutMs = 30_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
        try {
          const parent = /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
          if (Number(parent) === this.pid && readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(word)) return Number(pid);
        } catch {
          // The process ended while we looked.
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no child of the watcher ran with ${word} within ${timeoutMs} ms`);
  }

  /**
   * Sends SIGINT to the watcher's whole process group, as a terminal does on
   * Ctrl-C (needs ownGroup), and resolves with the exit code.
   */
  async interruptGroup(): Promise<number | null> {
    if (this.running) process.kill(-this.pid, "SIGINT");
    return this.exited;
  }

  /** Stops reading the watcher's output, as `watch | head -3` does after three lines; resolves with the exit code. */
  async closeOutput(): Promise<number | null> {
    this.child.stdout!.destroy();
    return this.exited;
  }

  /** Sends a signal and resolves with the exit code. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    if (this.running) this.child.kill(signal);
    return this.exited;
  }
}
