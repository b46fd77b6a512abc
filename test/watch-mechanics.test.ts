// The watcher's mechanics with stand-in repair and sync: which events count,
// how a burst becomes one round, and that the watcher's own writes start no
// round. The real commands are driven in watch.test.ts.
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Args, CommandResult, Context } from "../src/context.js";
import { EnvironmentError, LockHeldError } from "../src/errors.js";
import type { App } from "../src/server-layout.js";
import { DEFAULT_KEEP } from "../src/saved.js";
import { RealSystem } from "../src/system/real.js";
import { output } from "../src/render.js";
import type { RunOptions, RunResult } from "../src/system/system.js";
import { actionLine } from "../src/upgrade/watch-lines.js";
import { eventMeaning, isIgnored, watchLayout } from "../src/upgrade/watch-paths.js";
import { Rounds } from "../src/upgrade/watch-rounds.js";
import { childCommand } from "../src/upgrade/watch-spawn.js";
import { watchWith } from "../src/upgrade/watch.js";
import { inRoot, makeRoot, writeSymplTree } from "./fixtures/sympl.js";
import { testContext } from "./support/context.js";
import { hostPath, serverPath } from "../src/paths.js";
import { jsonDocument } from "./support/json-schema.js";

describe("which events count", () => {
  const layout = watchLayout((p) => hostPath(`/R${p}`), ["exim4", "dovecot"], serverPath("/var/lib/makefilecheck"), [
    serverPath("/var/lib/makefilecheck/exim4.json"),
    serverPath("/var/lib/makefilecheck/dovecot.json"),
  ]);
  const table: Array<[string, string | null]> = [
    ["/R/etc/exim4/sympl.d/00-main/50-tls-options", "snippet exim4"],
    ["/R/etc/dovecot/sympl.d/10-main/60-sni", "snippet dovecot"],
    ["/R/etc/exim4/sympl.d/00-main/50-tls-options.dpkg-dist", null],
    ["/R/etc/exim4/sympl.d/00-main/.50-tls-options.makefilecheck-tmp-1-1", null],
    ["/R/etc/exim4/sympl.d/00-main/my_file", null],
    ["/R/etc/exim4/sympl.d", "snippet exim4"],
    ["/R/etc/exim4/Makefile", "control exim4"],
    ["/R/etc/exim4/Makefile.local.dpkg-dist", "control exim4"],
    ["/R/etc/exim4/.Makefile.makefilecheck-tmp-1-2", null],
    ["/R/etc/exim4/exim4.conf", null],
    ["/R/etc/exim4/sympl-local.d/00-main/50-tls-options", null],
    ["/R/var/lib/makefilecheck/exim4.json", "control exim4,dovecot"],
    ["/R/var/lib/makefilecheck/journal.json", null],
    ["/R/var/lib/makefilecheck/baseline/exim4/00-main/10-x", null],
  ];
  it.each(table)("%s -> %s", (path, want) => {
    const m = eventMeaning(layout, hostPath(path));
    expect(m ? `${m.kind} ${m.apps.join(",")}` : null).toBe(want);
  });

  it("watches directories only: every one in sympl.d, none in sympl-local.d or the state dir", () => {
    const dir = { isDirectory: () => true };
    const file = { isDirectory: () => false };
    expect(isIgnored(layout, hostPath("/R/etc/exim4/sympl-local.d"), dir)).toBe(true);
    expect(isIgnored(layout, hostPath("/R/var/lib/makefilecheck/baseline"), dir)).toBe(true);
    expect(isIgnored(layout, hostPath("/R/etc/exim4/sympl.d/odd.dir"), dir)).toBe(false);
    expect(isIgnored(layout, hostPath("/R/etc/exim4/sympl.d/00-main/50-tls-options"), file)).toBe(true);
    expect(isIgnored(layout, hostPath("/R/etc/exim4/Makefile"), file)).toBe(true);
    expect(isIgnored(layout, hostPath("/R/etc/exim4"), dir)).toBe(false);
    expect(isIgnored(layout, hostPath("/R/var/lib/makefilecheck"), dir)).toBe(false);
  });

  it("counts a directory in sympl.d whatever its name", () => {
    expect(eventMeaning(layout, hostPath("/R/etc/exim4/sympl.d/new.d"), (p) => p.endsWith("new.d"))).toEqual({ kind: "snippet", apps: ["exim4"] });
    expect(eventMeaning(layout, hostPath("/R/etc/exim4/sympl-local.d/new.d"), () => true)).toBeNull();
  });
});

describe("rounds", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("turns a burst into one round that starts only after the quiet period", async () => {
    const calls: Array<[App[], number]> = [];
    const rounds = new Rounds(1000, async (apps, _round, paths) => {
      calls.push([apps, paths]);
    });
    for (let i = 0; i < 500; i += 1) {
      rounds.poke(i % 2 ? ["exim4"] : ["dovecot"], `/p${i % 400}`);
      await vi.advanceTimersByTimeAsync(10);
    }
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(989); // 999 ms since the last event
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual([[["dovecot", "exim4"], 400]]); // 400 distinct paths
  });

  it("holds events during a round for one more round, and stop waits for the round in flight", async () => {
    let finish!: () => void;
    const calls: number[] = [];
    const rounds = new Rounds(100, (_apps, round) => {
      calls.push(round);
      return new Promise<void>((r) => (finish = r));
    });
    rounds.poke(["exim4"], "/p");
    await vi.advanceTimersByTimeAsync(100);
    expect(rounds.busy).toBe(true);
    rounds.poke(["exim4"], "/p");
    await vi.advanceTimersByTimeAsync(500);
    expect(calls).toEqual([1]); // no overlap
    finish();
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toEqual([1, 2]);
    let stopped = false;
    const stopping = rounds.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    finish();
    await stopping;
    rounds.poke(["exim4"], "/p");
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toEqual([1, 2]);
  });
});

/** Writes a file the way dpkg installs a conffile: temp name, then rename. */
function dpkgWrite(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.dpkg-new`, text);
  renameSync(`${file}.dpkg-new`, file);
}

/**
 * A vanilla Sympl tree under a fresh root for each test, handed to `take`;
 * afterwards a watcher still running gets the SIGTERM it waits for.
 */
function vanillaRootPerTest(take: (root: string) => void): void {
  let root = "";
  beforeEach(() => {
    root = makeRoot();
    writeSymplTree(root);
    take(root);
  });
  afterEach(() => {
    process.emit("SIGTERM", "SIGTERM");
    vi.restoreAllMocks();
    rmSync(root, { recursive: true, force: true });
  });
}

/** Captures what the watcher prints, one entry per line, each as `parse` reads it. */
function capture<T>(parse: (chunk: string) => T): { out: T[]; until: (pred: () => boolean) => Promise<void> } {
  const out: T[] = [];
  const waiters: Array<() => void> = [];
  vi.spyOn(output, "out").mockImplementation((text) => {
    out.push(parse(text));
    waiters.splice(0).forEach((w) => w());
  });
  const until = async (pred: () => boolean) => {
    while (!pred()) await new Promise<void>((r) => waiters.push(r));
  };
  return { out, until };
}

describe("watchWith on a real tree, with stand-in commands", () => {
  let root: string;
  vanillaRootPerTest((r) => (root = r));

  it("runs one round per burst, ignores its own Makefile writes and non-snippets, stops on SIGTERM", async () => {
    const { out: lines, until } = capture((chunk) => jsonDocument(chunk) as Record<string, unknown>);
    const syncs = () => lines.filter((l) => l.action === "sync");
    const ctx = testContext(root, { apps: ["exim4", "dovecot"], json: true });
    let repairs = 0;
    const done = (lines: string[]): CommandResult => ({ code: 0, apps: [], lines });
    const commands = {
      // Stands in for repair: rewrites both Makefiles, as a real repair would.
      repair: async (_c: Context, _a: Args) => {
        repairs += 1;
        rmSync(inRoot(root, "/etc/exim4/Makefile"));
        symlinkSync(`Makefile.local-${repairs}`, inRoot(root, "/etc/exim4/Makefile"));
        writeFileSync(inRoot(root, "/var/lib/makefilecheck/exim4.json"), `{"round":${repairs}}`);
        return done(["nothing to do"]);
      },
      sync: async (c: Context, _a: Args) => done([`synced ${c.apps.join("+")}`]),
    };
    const watching = watchWith(ctx, { _: ["watch"], debounce: 200 }, commands);
    await until(() => lines.some((l) => l.event === "ready"));

    for (let i = 0; i < 50; i += 1) dpkgWrite(inRoot(root, `/etc/exim4/sympl.d/00-main/n${i}`), `# ${i}\n`);
    writeFileSync(inRoot(root, "/etc/exim4/sympl.d/00-main/ignored.dpkg-old"), "x\n");
    await until(() => syncs().length === 1);
    expect(syncs()[0]).toMatchObject({ round: 1, paths: 50, apps: ["exim4"], status: "ok" });

    for (let i = 0; i < 30; i += 1) dpkgWrite(inRoot(root, `/etc/dovecot/sympl.d/10-main/n${i}`), `# ${i}\n`);
    await until(() => syncs().length === 2);
    // Had repair's writes counted, they would have started round 2 or joined it.
    expect(syncs()[1]).toMatchObject({ round: 2, paths: 30, apps: ["dovecot"] });

    dpkgWrite(inRoot(root, "/etc/dovecot/Makefile.dpkg-dist"), "new upstream\n");
    await until(() => syncs().length === 3);
    expect(syncs()[2]).toMatchObject({ round: 3, paths: 1, apps: ["dovecot"] });

    process.emit("SIGTERM", "SIGTERM");
    const result = await watching;
    expect(result.code).toBe(0);
    expect(lines.at(-1)).toMatchObject({ event: "stopped", signal: "SIGTERM", rounds: 3 });
    expect(repairs).toBe(3);
  });

  it("stamps every line with the run's clock", async () => {
    const { out: lines, until } = capture((chunk) => chunk);
    const ctx = testContext(root, { apps: ["exim4"], now: new Date("2031-02-03T04:05:06Z") });
    const commands = { repair: async () => ({ code: 0 as const, apps: [], lines: [] }), sync: async () => ({ code: 0 as const, apps: [], lines: [] }) };
    const watching = watchWith(ctx, { _: ["watch"], debounce: 50 }, commands);
    await until(() => lines.length === 1);
    process.emit("SIGTERM", "SIGTERM");
    await watching;
    expect(lines).toEqual([expect.stringMatching(/^2031-02-03T04:05:06.000Z watching exim4: /), expect.stringMatching(/^2031-02-03T04:05:06.000Z stopped by SIGTERM /)]);
  });

  it("acts on a Makefile that dpkg replaces while sync runs: another round repairs it", async () => {
    const { out: lines, until } = capture((chunk) => jsonDocument(chunk) as Record<string, unknown>);
    const ctx = testContext(root, { apps: ["exim4"], json: true });
    let syncs = 0;
    const commands = {
      repair: async () => ({ code: 0 as const, apps: [], lines: [] }),
      sync: async () => {
        syncs += 1;
        // The upgrade goes on while the first round's sync runs.
        if (syncs === 1) dpkgWrite(inRoot(root, "/etc/exim4/Makefile"), "upstream Makefile, installed late\n");
        return { code: 0 as const, apps: [], lines: [] };
      },
    };
    const watching = watchWith(ctx, { _: ["watch"], debounce: 100 }, commands);
    await until(() => lines.some((l) => l.event === "ready"));
    dpkgWrite(inRoot(root, "/etc/exim4/sympl.d/00-main/99-new"), "# new\n");
    // Before the fix the late Makefile passed for repair's own write and no round 2 came.
    await until(() => lines.filter((l) => l.action === "repair").length === 2);
    process.emit("SIGTERM", "SIGTERM");
    await watching;
    expect(lines.filter((l) => l.action === "repair").map((l) => [l.round, l.paths])).toEqual([[1, 1], [2, 1]]);
  });
});

describe("signals and output", () => {
  let root: string;
  vanillaRootPerTest((r) => (root = r));

  it("SIGTERM during a round lets the round finish, then stops with exit 0", async () => {
    const { out, until } = capture(String);
    let release!: () => void;
    let syncing = false;
    const ctx = testContext(root, { apps: ["exim4"] });
    const commands = {
      repair: async () => ({ code: 0 as const, apps: [], lines: ["exim4: nothing to repair"] }),
      sync: () => {
        syncing = true;
        return new Promise<CommandResult>((resolve) => (release = () => resolve({ code: 0, apps: [], lines: ["exim4: 1 added"] })));
      },
    };
    const watching = watchWith(ctx, { _: ["watch"], debounce: 50 }, commands);
    let finished = false;
    void watching.then(() => (finished = true));
    await until(() => out.some((l) => l.includes("watching exim4")));
    dpkgWrite(inRoot(root, "/etc/exim4/sympl.d/00-main/99-new"), "# new\n");
    await vi.waitFor(() => expect(syncing).toBe(true), { timeout: 10_000 });

    process.emit("SIGTERM", "SIGTERM");
    await new Promise((r) => setTimeout(r, 0));
    expect(finished).toBe(false);
    release();
    expect((await watching).code).toBe(0);
    const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;
    expect(out.every((l) => iso.test(l) && l.endsWith("\n"))).toBe(true);
    expect(out.map((l) => l.replace(iso, "").trimEnd())).toEqual([
      "watching exim4: sympl.d, Makefile*, recorded mode (debounce 50 ms)",
      "repair: exim4: nothing to repair",
      "sync: exim4: 1 added",
      "stopped by SIGTERM after 1 round(s)",
    ]);
  });

  it("under -q prints only what needs the admin: a conflict or a failure", async () => {
    const { out, until } = capture(String);
    const ctx = { ...testContext(root, { apps: ["exim4"] }), quiet: true };
    const commands = {
      repair: async () => {
        throw new EnvironmentError("/etc/exim4: something is off — look");
      },
      sync: async () => ({ code: 1 as const, apps: [{ app: "exim4" as const, entries: [{ action: "conflict", path: "00-main/30-x" }] }], lines: [] }),
    };
    const watching = watchWith(ctx, { _: ["watch"], debounce: 50 }, commands);
    // -q hides the "watching" line, so there is no telling when events start
    // to count: write until a round reports.
    for (let i = 0; out.length === 0 && i < 50; i += 1) {
      dpkgWrite(inRoot(root, `/etc/exim4/sympl.d/00-main/99-new-${i}`), "# new\n");
      await Promise.race([until(() => out.length >= 2), new Promise((r) => setTimeout(r, 300))]);
    }
    await until(() => out.length >= 2);
    process.emit("SIGTERM", "SIGTERM");
    await watching;
    expect(out.slice(0, 2).map((l) => l.replace(/^\S+ /, "").trimEnd())).toEqual([
      "repair: FAILED: /etc/exim4: something is off — look",
      "sync: CONFLICT: exim4: 1 conflict (00-main/30-x)",
    ]);
  });

  it("does a round again when it lost the run lock to another run, and only then", async () => {
    const { out, until } = capture(String);
    const ctx = testContext(root, { apps: ["exim4"], json: true });
    let syncs = 0;
    const commands = {
      repair: async () => ({ code: 0 as const, apps: [], lines: [] }),
      sync: async () => {
        syncs += 1;
        if (syncs === 1) throw new LockHeldError("/var/lib/makefilecheck/lock: another makefilecheck run holds the lock — wait for it to finish, then run this again");
        // Exit 3 like the lock, and even worded like it, but not a busy lock: no retry.
        if (syncs === 2) throw new EnvironmentError("/etc/exim4/sympl-local.d: permission denied — another makefilecheck run holds the lock");
        return { code: 0 as const, apps: [], lines: ["exim4: nothing to do"] };
      },
    };
    const syncLines = () => out.map((l) => jsonDocument(l) as Record<string, unknown>).filter((l) => l.action === "sync");
    const watching = watchWith(ctx, { _: ["watch"], debounce: 300 }, commands);
    await until(() => out.length > 0);
    dpkgWrite(inRoot(root, "/etc/exim4/sympl.d/00-main/99-new"), "# new\n");
    await until(() => syncLines().length === 2);
    // The second failure is not about the lock: the next round comes from the next event (two paths), not a retry (one).
    dpkgWrite(inRoot(root, "/etc/exim4/sympl.d/00-main/99-newer"), "# newer\n");
    dpkgWrite(inRoot(root, "/etc/exim4/sympl.d/00-main/99-newest"), "# newest\n");
    await until(() => syncLines().length === 3);
    process.emit("SIGTERM", "SIGTERM");
    await watching;
    expect(syncLines().map((l) => [l.round, l.paths, l.status, l.message ?? null])).toEqual([
      [1, 1, "FAILED", "/var/lib/makefilecheck/lock: another makefilecheck run holds the lock — wait for it to finish, then run this again"],
      [2, 1, "FAILED", "/etc/exim4/sympl-local.d: permission denied — another makefilecheck run holds the lock"],
      [3, 2, "ok", null],
    ]);
  });
});

describe("rounds as child processes of the CLI", () => {
  const LAUNCHER = "/opt/mfc/bin/makefilecheck";
  let root: string;
  let runs: Array<{ cmd: string; args: string[]; options?: RunOptions }>;
  let notes: string[];
  beforeEach(() => {
    root = makeRoot();
    runs = [];
    notes = [];
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** A context whose System answers every run with `answer` and records the call. */
  function contextAnswering(answer: RunResult, opts: Partial<Context> = {}): Context {
    const sys = new RealSystem(root);
    sys.act = async (cmd, args, options) => {
      runs.push({ cmd, args, options });
      return answer;
    };
    return { sys, apps: ["exim4"], json: false, quiet: false, dryRun: false, color: false, lockWaitMs: 3_000, now: () => new Date(), keep: DEFAULT_KEEP, note: (l) => notes.push(l), ...opts };
  }

  it("runs the same CLI with the watcher's root, apps, -q, --dry-run and --make, and reads its JSON document", async () => {
    const doc = { apps: [{ app: "exim4", entries: [{ action: "conflict", path: "00-main/x" }] }], plan: [{ op: "remove", path: serverPath("/etc/exim4/sympl-local.d/x") }], dryRun: true };
    const ctx = contextAnswering({ exitCode: 1, stdout: JSON.stringify(doc), stderr: "exim4: finished an interrupted sync\n" }, { quiet: true, dryRun: true });
    const result = await childCommand(LAUNCHER, "sync")(ctx, { _: ["sync"], make: true });
    expect(runs).toHaveLength(1);
    expect(runs[0]!.cmd).toBe(process.execPath);
    expect(runs[0]!.args).toEqual([LAUNCHER, "sync", "--json", "--root", root, "-a", "exim4", "--wait", "90", "-q", "--dry-run", "--make"]);
    // Its own session: a Ctrl-C at the terminal must not cut the round short.
    expect(runs[0]!.options?.detached).toBe(true);
    expect(notes).toEqual(["exim4: finished an interrupted sync"]);
    const reported = actionLine({ action: "sync", apps: ["exim4"], round: 1, paths: 3, ms: 5, dryRun: true, result });
    expect(reported.line).toMatchObject({ status: "CONFLICT", code: 1, plan: doc.plan, text: "sync: CONFLICT: dry run: would do 1 step(s) | exim4: 1 conflict (00-main/x)" });
    expect(reported.loud).toBe(true);
  });

  it("words repair's line from the reports, and gives repair no --make", async () => {
    const apps = [
      { app: "exim4", changed: false, notes: [] },
      { app: "dovecot", changed: true, notes: ["dovecot: the Makefile is a plain file; restoring local (Makefile -> Makefile.local)"] },
    ];
    const ctx = contextAnswering({ exitCode: 0, stdout: JSON.stringify({ apps }), stderr: "" }, { apps: ["exim4", "dovecot"] });
    const result = await childCommand(LAUNCHER, "repair")(ctx, { _: ["repair"], make: true });
    expect(runs[0]!.args).toEqual([LAUNCHER, "repair", "--json", "--root", root, "-a", "exim4", "-a", "dovecot", "--wait", "90"]);
    const reported = actionLine({ action: "repair", apps: ["exim4", "dovecot"], round: 1, paths: 1, ms: 5, dryRun: false, result });
    expect(reported.line.text).toBe("repair: exim4: nothing to repair | dovecot: the Makefile is a plain file; restoring local (Makefile -> Makefile.local)");
    expect(reported.loud).toBe(false);
  });

  it("turns the child's exit 3 into the error it printed, a LockHeldError when its JSON error says so", async () => {
    const lock = "/var/lib/makefilecheck/lock: another makefilecheck run holds the lock (waited 90 s) — wait for it to finish, then run this again";
    const doc = JSON.stringify({ error: { exit: 3, kind: "LockHeldError", message: lock } });
    const ctx = contextAnswering({ exitCode: 3, stdout: doc, stderr: `exim4: a note first\nmakefilecheck: ${lock}\n` });
    const error = await childCommand(LAUNCHER, "sync")(ctx, { _: ["sync"] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockHeldError);
    expect((error as Error).message).toBe(lock);
    expect(notes).toEqual(["exim4: a note first"]);
    const other = contextAnswering({ exitCode: 3, stdout: JSON.stringify({ error: { exit: 3, kind: "EnvironmentError", message: lock } }), stderr: `makefilecheck: ${lock}\n` });
    const plain = await childCommand(LAUNCHER, "sync")(other, { _: ["sync"] }).catch((e: unknown) => e);
    expect(plain).toBeInstanceOf(EnvironmentError);
    expect(plain).not.toBeInstanceOf(LockHeldError);
  });

  it("reports bad input as exit 2 and a child that died without a word as FAILED", async () => {
    const bad = contextAnswering({ exitCode: 2, stdout: "", stderr: "makefilecheck: /etc/exim4/sympl.d/x: not a snippet — fix it\n" });
    await expect(childCommand(LAUNCHER, "sync")(bad, { _: ["sync"] })).rejects.toMatchObject({ code: 2, message: "/etc/exim4/sympl.d/x: not a snippet — fix it" });
    const died = contextAnswering({ exitCode: 127, stdout: "", stderr: "spawn ENOENT\n" });
    const error = await childCommand(LAUNCHER, "repair")(died, { _: ["repair"] }).catch((e: unknown) => e);
    const reported = actionLine({ action: "repair", apps: ["exim4"], round: 1, paths: 1, ms: 1, dryRun: false, error });
    expect(reported.line).toMatchObject({ status: "FAILED", code: 3 });
    expect(reported.line.text).toMatch(/^repair: FAILED: makefilecheck repair: the child run could not be started .*spawn ENOENT/);
  });
});
