/**
 * Reads what the built-config verdict needs (the built file, both trees'
 * snippets, the daemon's pid file and processes) and gives the per-app
 * `built` report: `{state, daemon, reload}`. The decisions are pure
 * functions over what was read (classifyBuilt, classifyDaemon).
 */
import type { App, Mode } from "../server-layout.js";
import { appPaths, DAEMON_PID_FILE, DAEMON_CONFIG_HELPER, snippetDir } from "../server-layout.js";
import type { ProcessInfo, Reader } from "../system/system.js";
import type { BuiltState, BuiltVerdict, TreeName } from "./classify.js";
import { classifyBuilt } from "./classify.js";
import { treeSnippets } from "../tree/configtest.js";
import { posix } from "node:path";
import { serverPath } from "../paths.js";

/** Whether the daemon runs, as far as the pid file and the host's processes tell. */
export type DaemonState = "running" | "stopped" | "unknown";

/** Whether the running daemon has yet to read the built config. */
export type ReloadState = "needed" | "no" | "unknown";

/** The `built` part of an app's report. */
export interface BuiltReport {
  state: BuiltState;
  daemon: DaemonState;
  reload: ReloadState;
}

/** What the daemon's pid file and processes say. */
export interface DaemonFacts {
  /** Whether the pid file's directory (`/run/APP`) is there at all. */
  runDir: boolean;
  /** The pid file: its mtime and the pid it holds (null when it holds no number); null when there is none. */
  pidFile: { mtimeMs: number; pid: number | null } | null;
  /** The process with that pid, null when none runs. */
  process: ProcessInfo | null;
  /** The daemon's config-reading helpers (dovecot's `config`), restarted by a reload. */
  helpers: ProcessInfo[];
  /** When the built file was written; null when there is none. */
  builtMs: number | null;
}

/**
 * Clock slack when comparing a process start (known to 10 ms, from
 * /proc's ticks) with a file's mtime: a build and a reload are never this
 * close, a tick's rounding often is.
 */
const SLACK_MS = 20;

/**
 * Whether the daemon runs and must reload: it has read the built file when
 * the latest of its start, its pid file's mtime (exim rewrites it when it
 * re-executes on a reload) and its config helper's start is after the
 * file was written. `unknown` when nothing tells (a copy of a server's
 * /etc has no /run); that is never an error.
 */
export function classifyDaemon(f: DaemonFacts): { daemon: DaemonState; reload: ReloadState } {
  if (!f.pidFile) return f.runDir ? { daemon: "stopped", reload: "no" } : { daemon: "unknown", reload: "unknown" };
  if (f.pidFile.pid === null) return { daemon: "unknown", reload: "unknown" };
  if (!f.process) return { daemon: "stopped", reload: "no" };
  if (f.builtMs === null) return { daemon: "running", reload: "no" };
  const read = Math.max(f.process.startedMs, f.pidFile.mtimeMs, ...f.helpers.map((h) => h.startedMs));
  return { daemon: "running", reload: f.builtMs > read + SLACK_MS ? "needed" : "no" };
}

/** Reads the daemon facts of `app` (host processes, pid file under the root). */
export function readDaemon(sys: Reader, app: App, builtMs: number | null): DaemonFacts {
  const pidPath = DAEMON_PID_FILE[app];
  const runDir = sys.stat(serverPath(posix.dirname(pidPath)))?.type === "dir";
  const st = sys.stat(pidPath);
  if (st?.type !== "file") return { runDir, pidFile: null, process: null, helpers: [], builtMs };
  const text = sys.readFile(pidPath).toString("utf8").trim();
  const pid = /^\d+$/.test(text) ? Number(text) : null;
  const proc = pid === null ? null : sys.process(pid);
  const helperName = DAEMON_CONFIG_HELPER[app];
  const helpers = proc && helperName ? sys.childProcesses(proc.pid).filter((p) => p.name === helperName) : [];
  return { runDir, pidFile: { mtimeMs: st.mtimeMs ?? 0, pid }, process: proc, helpers, builtMs };
}

const TREE: Record<Mode, TreeName> = { local: "sympl-local.d", sympl: "sympl.d" };
const OTHER: Record<Mode, Mode> = { local: "sympl", sympl: "local" };

/** The built file of `app` with the verdict against `mode`'s tree (the tree that should be in force). */
export function readBuilt(sys: Reader, app: App, mode: Mode): { verdict: BuiltVerdict; builtMs: number | null; text: string | null } {
  const conf = appPaths(app).conf;
  const st = sys.stat(conf);
  const text = st?.type === "file" ? sys.readFile(conf).toString("utf8") : null;
  const builtMs = text === null ? null : (st?.mtimeMs ?? 0);
  const snippets = (m: Mode) => (sys.stat(snippetDir(app, m))?.type === "dir" ? treeSnippets(sys, app, m) : []);
  const verdict = classifyBuilt({ text, builtMs: builtMs ?? 0, tree: TREE[mode], snippets: snippets(mode), other: () => snippets(OTHER[mode]) });
  return { verdict, builtMs, text };
}

/** The `built` report of a built file in `state`, written at `builtMs`, with what the daemon says now. */
export function withDaemon(sys: Reader, app: App, state: BuiltState, builtMs: number | null): BuiltReport {
  return { state, ...classifyDaemon(readDaemon(sys, app, builtMs)) };
}

/** The `built` report of `app` against `mode`'s tree. */
export function builtReport(sys: Reader, app: App, mode: Mode): BuiltReport & { verdict: BuiltVerdict } {
  const { verdict, builtMs } = readBuilt(sys, app, mode);
  return { ...withDaemon(sys, app, verdict.state, builtMs), verdict };
}
