/**
 * Budgets of `makefilecheck watch` on a fixture server in local mode:
 * idle CPU over 30 s ≈ 0 (no polling: at most 0.05 s of CPU, measured after
 * a few seconds for start-up work such as V8's background compilation to
 * finish), resident memory ≤ 80 MiB, and for bursts of 500 upstream writes:
 * the time from the last write to the end of the round's sync ≤ debounce +
 * 1 s, with exactly one sync per burst. The time repair and sync themselves
 * take is printed beside it, to tell the watcher's part from theirs.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { inRoot, makeRoot, setupLegacy } from "../../test/fixtures/sympl.js";
import { cli, WatchChild } from "../../test/watch-child.js";

const DEBOUNCE_MS = 2000;
const IDLE_MS = 30_000;
const SETTLE_MS = 5_000;
const IDLE_CPU_BUDGET_S = 0.05;
const RSS_BUDGET_MIB = 80;
const LATENCY_BUDGET_MS = DEBOUNCE_MS + 1000;
const BURST = 500;
const BURSTS = 3;

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid: number): number {
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15 of stat)
  return ticks / Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
}

/** A memory figure of /proc/PID/status in MiB (VmRSS, VmHWM). */
function memoryMiB(pid: number, field: "VmRSS" | "VmHWM"): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1]) / 1024;
}

/** A local-mode server with a baseline, as after `use local` and `sync --adopt`. */
function server(): string {
  const root = makeRoot();
  for (const app of ["exim4", "dovecot"] as const) setupLegacy(root, app);
  cli(root, ["use", "local", "--no-check"]);
  cli(root, ["sync", "--adopt", "-q"]);
  return root;
}

/** Writes `BURST` new upstream snippets one after another; returns when the last write ended. */
function burst(root: string, n: number): number {
  const dir = inRoot(root, `/etc/exim4/sympl.d/36-bench-${n}`);
  mkdirSync(dir);
  for (let i = 0; i < BURST; i += 1) writeFileSync(`${dir}/s${String(i).padStart(3, "0")}`, `# bench burst ${n}, snippet ${i}\n`);
  return performance.now();
}

/** Prints the watcher's figures; true when all are within budget. */
export async function run(): Promise<boolean> {
  const root = server();
  const watcher = new WatchChild(root, ["--debounce", String(DEBOUNCE_MS)]);
  try {
    await watcher.waitFor((l) => l.event === "ready");
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const cpuBefore = cpuSeconds(watcher.pid);
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const idleCpu = cpuSeconds(watcher.pid) - cpuBefore;
    const idleRss = memoryMiB(watcher.pid, "VmRSS");
    console.log(`idle ${IDLE_MS / 1000} s: ${idleCpu.toFixed(3)} s CPU (budget ≤ ${IDLE_CPU_BUDGET_S}), VmRSS ${idleRss.toFixed(1)} MiB`);

    let worstLatency = 0;
    const syncCounts: number[] = [];
    for (let n = 1; n <= BURSTS; n += 1) {
      const syncsBefore = watcher.actions("sync").length;
      const lastWrite = burst(root, n);
      const synced = await watcher.waitFor((l) => l.action === "sync" && l.round === n, 60_000);
      const latency = synced.readAt - lastWrite;
      // A second sync for the same burst would start within one more debounce.
      await watcher.waitFor((l) => l.action === "sync" && l.round === n + 1, DEBOUNCE_MS * 2).catch(() => null);
      const syncs = watcher.actions("sync").length - syncsBefore;
      syncCounts.push(syncs);
      worstLatency = Math.max(worstLatency, latency);
      const repairMs = Number(watcher.actions("repair").find((l) => l.round === n)?.ms);
      const syncMs = Number(synced.ms);
      const own = latency - DEBOUNCE_MS - repairMs - syncMs;
      console.log(
        `burst ${n} of ${BURST} writes: last write -> sync done ${latency.toFixed(0)} ms (budget ≤ ${LATENCY_BUDGET_MS}), ${syncs} sync(s), ${synced.paths} path(s) seen; ` +
          `of which debounce ${DEBOUNCE_MS}, repair ${repairMs} ms, sync ${syncMs} ms, the watcher's own part ${own.toFixed(0)} ms`,
      );
    }
    const rss = Math.max(idleRss, memoryMiB(watcher.pid, "VmRSS"));
    console.log(`VmRSS after the bursts ${memoryMiB(watcher.pid, "VmRSS").toFixed(1)} MiB, peak VmHWM ${memoryMiB(watcher.pid, "VmHWM").toFixed(1)} MiB (budget VmRSS ≤ ${RSS_BUDGET_MIB})`);
    return idleCpu <= IDLE_CPU_BUDGET_S && rss <= RSS_BUDGET_MIB && worstLatency <= LATENCY_BUDGET_MS && syncCounts.every((c) => c === 1);
  } finally {
    await watcher.stop("SIGTERM");
    rmSync(root, { recursive: true, force: true });
  }
}
