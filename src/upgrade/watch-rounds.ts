/**
 * Turning a burst of events into one round of work. An upgrade writes
 * hundreds of files over seconds; acting on each would sync half-written
 * trees over and over. Every event restarts the quiet period; when it ends,
 * one round runs for the apps the burst touched. Rounds never overlap: what
 * arrives during one waits for the next.
 */
import type { App } from "../server-layout.js";

/** The work of one round (`paths`: how many paths the burst touched); it reports its own outcome. */
export type RoundAction = (apps: App[], round: number, paths: number) => Promise<void>;

/** Debounces events into rounds that run one at a time. */
export class Rounds {
  private timer: NodeJS.Timeout | undefined;
  private pending = new Set<App>();
  private paths = new Set<string>();
  private running: Promise<void> | undefined;
  private stopping = false;
  /** How many rounds have started. */
  count = 0;

  constructor(
    private readonly debounceMs: number,
    private readonly act: RoundAction,
  ) {}

  /** True while a round runs. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /** An event on `path` that concerns `apps`: (re)starts the quiet period. */
  poke(apps: readonly App[], path: string): void {
    if (this.stopping) return;
    for (const app of apps) this.pending.add(app);
    this.paths.add(path);
    this.arm();
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(), this.debounceMs);
  }

  private fire(): void {
    this.timer = undefined;
    // The round in flight re-arms when it ends, if events came meanwhile.
    if (this.running || this.stopping || this.pending.size === 0) return;
    const apps = [...this.pending];
    const paths = this.paths.size;
    this.pending.clear();
    this.paths.clear();
    this.count += 1;
    this.running = this.act(apps, this.count, paths).finally(() => {
      this.running = undefined;
      if (this.pending.size > 0 && !this.timer && !this.stopping) this.arm();
    });
  }

  /**
   * Stops taking events, drops a burst still settling, and resolves once the
   * round in flight (if any) has finished. Returns whether a burst was dropped.
   */
  async stop(): Promise<boolean> {
    this.stopping = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const dropped = this.pending.size > 0;
    await this.running;
    return dropped;
  }
}
