/**
 * Building the config the way the server does (`make APP.conf` with the
 * Makefile the fixture holds, its banners and its config test) and a
 * real process standing in for a daemon, its pid in the daemon's pid file
 * under the test root.
 */
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { appPaths, DAEMON_PID_FILE, type App } from "../../src/server-layout.js";
import { inRoot } from "../fixtures/sympl.js";
import { resolveInRoot } from "../fixtures/paths.js";

/** Runs `make APP.conf` in the app dir with the Makefile the fixture holds (links read inside the root); throws when make fails. */
export function makeConf(root: string, app: App): void {
  const r = makeConfRun(root, app);
  if (r.status !== 0) throw new Error(`make ${app}.conf failed: ${r.stderr}${r.stdout}`);
}

/** `make APP.conf` as the package's postinst runs it; the caller looks at the outcome. */
export function makeConfRun(root: string, app: App): { status: number | null; stdout: string; stderr: string } {
  const dir = inRoot(root, appPaths(app).dir);
  // What make reads first: GNUmakefile, else Makefile (an earlier layout's link, read inside the root).
  const makefile = resolveInRoot(root, join(dir, existsSync(join(dir, "GNUmakefile")) ? "GNUmakefile" : "Makefile"));
  const r = spawnSync("make", ["-f", makefile, `${app}.conf`], { cwd: dir, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A running stand-in for a daemon (and, for dovecot, its `config` child). */
export interface StandIn {
  pid: number;
  /** Writes the pid file again, as exim does when it re-executes on a reload. */
  rewritePidFile(): void;
  /** Ends the `config` child; the stand-in starts another, as dovecot's master does on a reload. */
  restartHelper(): Promise<void>;
  stop(): Promise<void>;
}

/** The pids of `parent`'s children named `name`. */
function children(parent: number, name: string): string[] {
  const r = spawnSync("pgrep", ["-P", String(parent), "-x", name], { encoding: "utf8" });
  return r.stdout.split("\n").filter(Boolean);
}

/**
 * Starts a process standing in for `app`'s daemon and writes its pid into
 * ROOT's pid file. For dovecot the stand-in keeps a child named `config`
 * (a copy of sleep under that name) running, as dovecot's master does.
 * It leads a process group of its own, which `stop` ends whole.
 */
export async function startStandIn(root: string, app: App): Promise<StandIn> {
  const pidFile = inRoot(root, DAEMON_PID_FILE[app]);
  mkdirSync(dirname(pidFile), { recursive: true });
  const bin = mkdtempSync(join(tmpdir(), "makefilecheck-standin-"));
  const helper = join(bin, "config");
  copyFileSync("/bin/sleep", helper);
  const script = app === "dovecot" ? `while :; do ${helper} 600; done` : "exec sleep 600";
  const child: ChildProcess = spawn("/bin/sh", ["-c", script], { stdio: "ignore", detached: true });
  const pid = child.pid!;
  const exited = new Promise((r) => child.once("exit", r));
  const write = () => writeFileSync(pidFile, `${pid}\n`);
  write();
  if (app === "dovecot") await waitFor(() => children(pid, "config").length === 1);
  return {
    pid,
    rewritePidFile: write,
    restartHelper: async () => {
      const [old] = children(pid, "config");
      process.kill(Number(old));
      await waitFor(() => {
        const now = children(pid, "config");
        return now.length === 1 && now[0] !== old;
      });
    },
    stop: async () => {
      process.kill(-pid, "SIGKILL");
      await exited;
      rmSync(bin, { recursive: true, force: true });
    },
  };
}

/** Polls until `ok()`, for at most 5 s. */
export async function waitFor(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("timed out waiting");
}

/** Waits long enough that the next file write has a later time than anything before it (past the clock slack). */
export function later(): Promise<void> {
  return new Promise((r) => setTimeout(r, 60));
}
