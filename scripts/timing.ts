/** Shared timing helpers for the benchmarks: medians of interleaved runs. */
import { spawnSync } from "node:child_process";

/**
 * The environment the timed commands run in: this one without Node's own
 * NODE_* variables, which a server's root shell does not set and which can
 * add work to every start (NODE_EXTRA_CA_CERTS alone reads a certificate
 * bundle: 40 ms a start on the development machine), flattering a ratio
 * to `node -e 0`.
 */
function serverEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("NODE_")));
}

/** Wall time of one run of `cmd args`, in milliseconds. */
export function timeOnce(cmd: string, args: string[]): number {
  const env = serverEnv();
  const start = process.hrtime.bigint();
  spawnSync(cmd, args, { stdio: "ignore", env });
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** The median of a list of numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Times two commands alternately `runs` times (so machine load hits both
 * alike) and returns their medians, and the median of the ratios a/b of
 * each pair run back to back: a virtual machine's speed can change for
 * seconds at a time, which moves the two medians apart but not a pair.
 */
export function compare(runs: number, a: [string, string[]], b: [string, string[]]): [number, number, number] {
  const ta: number[] = [];
  const tb: number[] = [];
  timeOnce(...a); // warm the page cache for both
  timeOnce(...b);
  for (let i = 0; i < runs; i++) {
    ta.push(timeOnce(...a));
    tb.push(timeOnce(...b));
  }
  return [median(ta), median(tb), median(ta.map((t, i) => t / tb[i]!))];
}
