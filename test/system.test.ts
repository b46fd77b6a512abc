import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { spawnSync } from "node:child_process";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EnvironmentError } from "../src/errors.js";
import { JOURNAL, applyPlan, finishInterrupted } from "../src/plan.js";
import type { Op } from "../src/plan.js";
import { RealSystem } from "../src/system/real.js";
import { CacheOnlySystem, DryRunSystem, FaultySystem, ReadOnlySystem } from "../src/system/wrappers.js";
import { serverPath } from "../src/paths.js";

let root: string;
let sys: RealSystem;
beforeEach(() => {
  root = mkdtempSync(`${tmpdir()}/mfc-system-`);
  mkdirSync(`${root}/etc/exim4`, { recursive: true });
  sys = new RealSystem(root);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("RealSystem", () => {
  it("maps server paths under the root and refuses to climb out of it", () => {
    expect(sys.hostPath(serverPath("/etc/exim4/Makefile"))).toBe(`${root}/etc/exim4/Makefile`);
    expect(sys.hostPath(serverPath("/etc/../../../etc/passwd"))).toBe(`${root}/etc/passwd`);
    expect(() => sys.hostPath(serverPath("etc/passwd"))).toThrow(/absolute/);
  });

  it("replaces a symlink instead of writing through it", () => {
    writeFileSync(`${root}/etc/exim4/target`, "keep me\n");
    symlinkSync("target", `${root}/etc/exim4/Makefile`);
    sys.writeFile(serverPath("/etc/exim4/Makefile"), "new\n");
    expect(lstatSync(`${root}/etc/exim4/Makefile`).isFile()).toBe(true);
    expect(readFileSync(`${root}/etc/exim4/target`, "utf8")).toBe("keep me\n");
  });

  it("words any other errno failure as a problem of that server path, not an internal error", () => {
    mkdirSync(`${root}/etc/exim4/odd`);
    let caught: unknown;
    try {
      sys.readFile(serverPath("/etc/exim4/odd"));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(EnvironmentError);
    expect((caught as Error).message).toBe("/etc/exim4/odd: EISDIR: illegal operation on a directory — look at what is there (dmesg for an I/O error), then run this again");
  });

  it("refuses to write below a symlinked directory", () => {
    mkdirSync(`${root}/elsewhere`);
    symlinkSync("../../elsewhere", `${root}/etc/exim4/sympl-local.d`);
    expect(() => sys.writeFile(serverPath("/etc/exim4/sympl-local.d/x"), "data")).toThrow(EnvironmentError);
    expect(() => sys.writeFile(serverPath("/etc/exim4/sympl-local.d/x"), "data")).toThrow(/sympl-local.d: is a symlink/);
    expect(readdirSync(`${root}/elsewhere`)).toEqual([]);
  });

  it("keeps the mode and owner of the file it replaces and leaves no temp file", () => {
    writeFileSync(`${root}/etc/exim4/conf`, "old", { mode: 0o640 });
    sys.writeFile(serverPath("/etc/exim4/conf"), Buffer.from([0xff, 0x00, 0x41]));
    expect(lstatSync(`${root}/etc/exim4/conf`).mode & 0o777).toBe(0o640);
    expect([...readFileSync(`${root}/etc/exim4/conf`)]).toEqual([0xff, 0x00, 0x41]);
    expect(readdirSync(`${root}/etc/exim4`)).toEqual(["conf"]);
  });

  it("changes a file's mode in place, refuses a link without touching its target, and passes over a missing file", () => {
    writeFileSync(`${root}/etc/exim4/key`, "k\n", { mode: 0o644 });
    sys.chmod(serverPath("/etc/exim4/key"), 0o600);
    expect(lstatSync(`${root}/etc/exim4/key`).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${root}/etc/exim4/key`, "utf8")).toBe("k\n");
    symlinkSync("key", `${root}/etc/exim4/link`);
    expect(() => sys.chmod(serverPath("/etc/exim4/link"), 0o644)).toThrow(/link: is a symlink, not a file/);
    expect(lstatSync(`${root}/etc/exim4/key`).mode & 0o777).toBe(0o600);
    sys.chmod(serverPath("/etc/exim4/gone"), 0o600);
    expect(sys.stat(serverPath("/etc/exim4/gone"))).toBeNull();
  });

  it("swaps a symlink atomically to a new target", () => {
    symlinkSync("Makefile.sympl", `${root}/etc/exim4/Makefile`);
    sys.symlink("Makefile.local", serverPath("/etc/exim4/Makefile"));
    expect(readlinkSync(`${root}/etc/exim4/Makefile`)).toBe("Makefile.local");
    expect(readdirSync(`${root}/etc/exim4`)).toEqual(["Makefile"]);
  });

  it("lists names in byte order, as the Makefile's sort does in the C locale", () => {
    for (const n of ["b", "B", "a-1", "a1", "_x"]) writeFileSync(`${root}/etc/exim4/${n}`, "");
    expect(sys.list(serverPath("/etc/exim4"))).toEqual(["B", "_x", "a-1", "a1", "b"]);
  });

  it("reads a file whole whatever size hint it is given (a file may change between lstat and read)", () => {
    const text = "x".repeat(5000);
    writeFileSync(`${root}/etc/exim4/f`, text);
    for (const hint of [5000, 0, 4999, 5001, 20_000]) expect(sys.readFile(serverPath("/etc/exim4/f"), hint).toString()).toBe(text);
    writeFileSync(`${root}/etc/exim4/empty`, "");
    expect(sys.readFile(serverPath("/etc/exim4/empty"), 10).length).toBe(0);
  });

  it("lists names with their types in byte order, and lstats only the names asked for", () => {
    const dir = `${root}/etc/exim4`;
    for (const n of ["b", "B", "a1"]) writeFileSync(`${dir}/${n}`, "text");
    mkdirSync(`${dir}/sub`);
    symlinkSync("b", `${dir}/a-link`);
    const asked: string[] = [];
    const listed = sys.listDetailed(serverPath("/etc/exim4"), (name, type) => {
      asked.push(`${name}:${type}`);
      return type !== "dir" && name !== "B";
    });
    expect(listed.map((l) => [l.name, l.type])).toEqual([["B", "file"], ["a-link", "link"], ["a1", "file"], ["b", "file"], ["sub", "dir"]]);
    expect(asked).toEqual(["B:file", "a-link:link", "a1:file", "b:file", "sub:dir"]);
    // The link is reported as itself, never followed; the names not asked for carry no lstat.
    expect(listed.find((l) => l.name === "a-link")?.entry?.type).toBe("link");
    expect(listed.find((l) => l.name === "a1")?.entry).toMatchObject({ type: "file", size: 4 });
    expect(listed.find((l) => l.name === "B")?.entry).toBeUndefined();
    expect(listed.find((l) => l.name === "sub")?.entry).toBeUndefined();
  });

  it("reports a missing program as exit 127 instead of throwing", async () => {
    const r = await sys.run("/nonexistent/program", []);
    expect(r.exitCode).toBe(127);
  });

  it("lets a second lock holder wait, then refuses with exit 3", async () => {
    const release = await sys.lock(serverPath("/var/lib/makefilecheck/lock"), 0);
    await expect(sys.lock(serverPath("/var/lib/makefilecheck/lock"), 300)).rejects.toThrow(/another makefilecheck run holds the lock \(waited 0.3 s\)/);
    await release();
    const again = await sys.lock(serverPath("/var/lib/makefilecheck/lock"), 0);
    await again();
  });
});

describe("stacked systems", () => {
  it("dry-run records writes and changes nothing", () => {
    const dry = new DryRunSystem(sys);
    dry.writeFile(serverPath("/etc/exim4/new"), "x");
    dry.chmod(serverPath("/etc/exim4"), 0o700);
    dry.remove(serverPath("/etc/exim4"));
    expect(dry.calls.map((c) => c.method)).toEqual(["writeFile", "chmod", "remove"]);
    expect(lstatSync(`${root}/etc/exim4`).mode & 0o777).toBe(0o755);
    expect(readdirSync(`${root}/etc/exim4`)).toEqual([]);
  });

  it("read-only refuses any write", () => {
    const ro = new ReadOnlySystem(sys);
    expect(ro.stat(serverPath("/etc/exim4"))?.type).toBe("dir");
    expect(() => ro.writeFile(serverPath("/etc/exim4/x"), "x")).toThrow(/read-only command tried writeFile/);
  });

  it("cache-only writes inside its directory and refuses the rest", () => {
    const caches = new CacheOnlySystem(sys, serverPath("/var/lib/makefilecheck/cache"));
    caches.mkdir(serverPath("/var/lib/makefilecheck/cache"), { mode: 0o700 });
    caches.writeFile(serverPath("/var/lib/makefilecheck/cache/exim4.built"), "x");
    expect(readFileSync(`${root}/var/lib/makefilecheck/cache/exim4.built`, "utf8")).toBe("x");
    expect(() => caches.writeFile(serverPath("/etc/exim4/x"), "x")).toThrow(/cache writer tried writeFile/);
    expect(() => caches.writeFile(serverPath("/var/lib/makefilecheck/cache/../state.json"), "x")).toThrow(/cache writer tried writeFile/);
    expect(() => caches.symlink(serverPath("/var/lib/makefilecheck/cache/a"), serverPath("/etc/exim4/Makefile"))).toThrow(/cache writer tried symlink/);
    expect(() => caches.rename(serverPath("/var/lib/makefilecheck/cache/exim4.built"), serverPath("/etc/exim4/Makefile"))).toThrow(/cache writer tried rename/);
    expect(() => caches.remove(serverPath("/var/lib/makefilecheck/cachex"))).toThrow(/cache writer tried remove/);
    expect(readdirSync(`${root}/etc/exim4`)).toEqual([]);
  });
});

describe("plans and the journal", () => {
  const plan: Op[] = [
    { op: "mkdir", path: serverPath("/etc/exim4/sympl-local.d"), why: "local tree" },
    { op: "write", path: serverPath("/etc/exim4/sympl-local.d/a"), data: Buffer.from("A\n"), why: "copy" },
    { op: "write", path: serverPath("/etc/exim4/sympl-local.d/b"), data: Buffer.from("B\n"), why: "copy" },
    { op: "symlink", path: serverPath("/etc/exim4/Makefile"), target: "Makefile.local", why: "switch" },
  ];

  it("applies every step and removes its journal", async () => {
    await applyPlan(sys, "test", plan, () => new Date());
    expect(readFileSync(`${root}/etc/exim4/sympl-local.d/b`, "utf8")).toBe("B\n");
    expect(readlinkSync(`${root}/etc/exim4/Makefile`)).toBe("Makefile.local");
    expect(sys.stat(JOURNAL)).toBeNull();
  });

  it("says how far it got when a step fails, and the next run finishes the plan", async () => {
    // Writes: mkdir state dir (1), journal (2), then the plan's steps; fail at the second file.
    const faulty = new FaultySystem(sys, 5);
    // The journal is dated by the run's clock, never by the machine's.
    const clock = () => new Date("2031-02-03T04:05:06Z");
    await expect(applyPlan(faulty, "use local", plan, clock, "pid=7 user=alice")).rejects.toThrow(/step 3 of 4.*next run finishes it/);
    expect(sys.stat(serverPath("/etc/exim4/sympl-local.d/a"))?.type).toBe("file");
    expect(sys.stat(serverPath("/etc/exim4/sympl-local.d/b"))).toBeNull();
    // The steps done before the failure are in the action log, named by the run.
    expect(readFileSync(`${root}/var/log/makefilecheck.log`, "utf8")).toBe(
      "2031-02-03T04:05:06.000Z pid=7 user=alice use local: mkdir /etc/exim4/sympl-local.d (local tree)\n2031-02-03T04:05:06.000Z pid=7 user=alice use local: write /etc/exim4/sympl-local.d/a (copy)\n",
    );
    expect(await finishInterrupted(sys, new Date())).toBe("finished the interrupted `use local` run of 2031-02-03T04:05:06.000Z");
    expect(readFileSync(`${root}/etc/exim4/sympl-local.d/b`, "utf8")).toBe("B\n");
    expect(readlinkSync(`${root}/etc/exim4/Makefile`)).toBe("Makefile.local");
    expect(await finishInterrupted(sys, new Date())).toBeNull();
  });

  it("never overwrites a file edited between the interruption and the next run: it stays, a copy is saved, and the line says so", async () => {
    writeFileSync(`${root}/etc/exim4/Makefile`, "plain\n");
    // Cut short before the second file: the admin then edits it (it did not exist) and edits the Makefile.
    await expect(applyPlan(new FaultySystem(sys, 5), "sync", plan, () => new Date("2031-02-03T04:05:06Z"))).rejects.toThrow(/step 3 of 4/);
    writeFileSync(`${root}/etc/exim4/sympl-local.d/b`, "the admin's b\n");
    const note = await finishInterrupted(sys, new Date("2031-02-04T00:00:00Z"));
    const kept = "/var/lib/makefilecheck/saved/interrupted/2031-02-04T00-00-00Z";
    expect(note).toBe(
      `not finished: the interrupted \`sync\` run of 2031-02-03T04:05:06.000Z: /etc/exim4/sympl-local.d/b was changed after the run was cut short, so none of it was replayed; left as it is, with a copy in ${kept}; its journal is kept in ${kept}, and this run plans from the files as they are now`,
    );
    expect(readFileSync(`${root}/etc/exim4/sympl-local.d/b`, "utf8")).toBe("the admin's b\n");
    expect(readFileSync(`${root}${kept}/etc/exim4/sympl-local.d/b`, "utf8")).toBe("the admin's b\n");
    expect(lstatSync(`${root}${kept}/etc/exim4/sympl-local.d/b`).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${root}/etc/exim4/Makefile`, "utf8")).toBe("plain\n");
    expect(sys.stat(JOURNAL)).toBeNull();
    expect(JSON.parse(readFileSync(`${root}${kept}/journal.json`, "utf8")).command).toBe("sync");
    expect(await finishInterrupted(sys, new Date())).toBeNull();
  });

  it("never overwrites an edit of a file a step had already written, nor replays what was done", async () => {
    writeFileSync(`${root}/etc/exim4/Makefile`, "plain\n");
    await expect(applyPlan(new FaultySystem(sys, 6), "sync", plan, () => new Date())).rejects.toThrow(/step 4 of 4/);
    writeFileSync(`${root}/etc/exim4/sympl-local.d/a`, "A\nedited\n");
    expect(await finishInterrupted(sys, new Date())).toMatch(/\/etc\/exim4\/sympl-local\.d\/a was changed after the run was cut short, so none of it was replayed/);
    expect(readFileSync(`${root}/etc/exim4/sympl-local.d/a`, "utf8")).toBe("A\nedited\n");
    expect(readFileSync(`${root}/etc/exim4/Makefile`, "utf8")).toBe("plain\n");
  });

  it("replays from where the run stopped when nothing was changed, a file written then moved included", async () => {
    const moved: Op[] = [
      { op: "write", path: serverPath("/etc/exim4/new"), data: Buffer.from("N\n"), why: "stage" },
      { op: "rename", from: serverPath("/etc/exim4/new"), to: serverPath("/etc/exim4/final"), why: "place" },
      { op: "write", path: serverPath("/etc/exim4/last"), data: Buffer.from("L\n"), why: "last" },
    ];
    await expect(applyPlan(new FaultySystem(sys, 5), "t", moved, () => new Date())).rejects.toThrow(/step 3 of 3/);
    expect(await finishInterrupted(sys, new Date())).toMatch(/^finished the interrupted `t` run/);
    expect(readdirSync(`${root}/etc/exim4`).sort()).toEqual(["final", "last"]);
  });

  it("leaves a journal without stamps (an older release's) aside instead of replaying it blindly", async () => {
    mkdirSync(`${root}/var/lib/makefilecheck`, { recursive: true });
    writeFileSync(`${root}/etc/exim4/x`, "the admin's x\n");
    const step = { op: "write", path: "/etc/exim4/x", data: Buffer.from("ours\n").toString("base64"), why: "" };
    writeFileSync(`${root}${JOURNAL}`, JSON.stringify({ version: 1, command: "sync", started: "then", ops: [step] }));
    expect(await finishInterrupted(sys, new Date())).toMatch(/^not finished: the interrupted `sync` run of then: its journal has no stamps/);
    expect(readFileSync(`${root}/etc/exim4/x`, "utf8")).toBe("the admin's x\n");
    expect(sys.stat(JOURNAL)).toBeNull();
  });

  it("a refusal part way (an immutable directory) undoes the run's own steps and leaves no journal, and says what is immutable", async () => {
    writeFileSync(`${root}/etc/exim4/Makefile`, "plain\n");
    mkdirSync(`${root}/etc/dovecot`);
    const steps: Op[] = [
      { op: "write", path: serverPath("/etc/exim4/Makefile"), data: Buffer.from("ours\n"), why: "t" },
      { op: "mkdir", path: serverPath("/etc/exim4/new.d"), why: "t" },
      { op: "write", path: serverPath("/etc/exim4/new.d/a"), data: Buffer.from("A\n"), why: "t" },
      { op: "write", path: serverPath("/etc/dovecot/b"), data: Buffer.from("B\n"), why: "t" },
    ];
    spawnSync("chattr", ["+i", `${root}/etc/dovecot`]);
    try {
      const error = await applyPlan(sys, "t", steps, () => new Date()).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 3 });
      expect((error as Error).message).toBe(
        `/etc/dovecot/b: ${root}/etc/dovecot is immutable (chattr +i): not even root may change it — if that is not meant, \`chattr -i ${root}/etc/dovecot\`, then run this again (step 4 of 4; the steps before it were undone: nothing was changed)`,
      );
    } finally {
      spawnSync("chattr", ["-i", `${root}/etc/dovecot`]);
    }
    expect(readFileSync(`${root}/etc/exim4/Makefile`, "utf8")).toBe("plain\n");
    expect(readdirSync(`${root}/etc/exim4`)).toEqual(["Makefile"]);
    expect(sys.stat(JOURNAL)).toBeNull();
  });

  it("names an immutable file it cannot replace (root is not told to run as root)", () => {
    writeFileSync(`${root}/etc/exim4/Makefile`, "plain\n");
    spawnSync("chattr", ["+i", `${root}/etc/exim4/Makefile`]);
    try {
      expect(() => sys.writeFile(serverPath("/etc/exim4/Makefile"), "ours\n")).toThrow(
        `/etc/exim4/Makefile: ${root}/etc/exim4/Makefile is immutable (chattr +i): not even root may change it — if that is not meant, \`chattr -i ${root}/etc/exim4/Makefile\`, then run this again`,
      );
    } finally {
      spawnSync("chattr", ["-i", `${root}/etc/exim4/Makefile`]);
    }
    expect(readdirSync(`${root}/etc/exim4`)).toEqual(["Makefile"]);
  });

  it("a symlinked directory met part way is refused the same way: steps undone, no journal", async () => {
    mkdirSync(`${root}/elsewhere`);
    mkdirSync(`${root}/var/lib/makefilecheck`, { recursive: true });
    symlinkSync("../../../elsewhere", `${root}/var/lib/makefilecheck/saved`);
    const steps: Op[] = [
      { op: "write", path: serverPath("/etc/exim4/x"), data: Buffer.from("X\n"), why: "t" },
      { op: "write", path: serverPath("/var/lib/makefilecheck/saved/x"), data: Buffer.from("copy\n"), why: "t" },
    ];
    await expect(applyPlan(sys, "t", steps, () => new Date())).rejects.toThrow(
      "/var/lib/makefilecheck/saved: is a symlink, not a directory — refusing to write /var/lib/makefilecheck/saved/x through it (step 2 of 2; the steps before it were undone: nothing was changed)",
    );
    expect(readdirSync(`${root}/etc/exim4`)).toEqual([]);
    expect(readdirSync(`${root}/elsewhere`)).toEqual([]);
    expect(sys.stat(JOURNAL)).toBeNull();
  });

  it("refuses an unreadable journal with a line that says what to do", async () => {
    mkdirSync(`${root}/var/lib/makefilecheck`, { recursive: true });
    writeFileSync(`${root}${JOURNAL}`, "{not json");
    await expect(finishInterrupted(sys, new Date())).rejects.toThrow(/journal of an interrupted run is not valid JSON; nothing of it was replayed — look at it/);
  });

  it.each([
    ["a path that climbs out", { op: "remove", path: "/etc/exim4/../../tmp/x", why: "" }, /step 2: a remove step without an absolute path/],
    ["a relative path", { op: "write", path: "etc/passwd", data: "", why: "" }, /step 2: a write step without an absolute path/],
    ["an unknown step", { op: "chown", path: "/etc/shadow", why: "" }, /step 2: unknown step "chown"/],
    ["a chmod without a mode", { op: "chmod", path: "/etc/shadow", why: "" }, /step 2: the chmod of \/etc\/shadow has no mode/],
    ["contents that are not base64", { op: "write", path: "/etc/exim4/x", data: "not base64!", why: "" }, /step 2: the write of \/etc\/exim4\/x has no base64 contents/],
    ["a mode out of range", { op: "mkdir", path: "/etc/exim4/d", mode: 0o170000, why: "" }, /step 2: mode is not a valid number/],
    ["a step that is not an object", "rm -rf /", /step 2: a step is not an object/],
  ])("refuses a journal with %s (exit 3) and replays none of it", async (_name, bad, message) => {
    mkdirSync(`${root}/var/lib/makefilecheck`, { recursive: true });
    const good = { op: "write", path: "/etc/exim4/sympl-local.d/first", data: Buffer.from("x").toString("base64"), why: "" };
    writeFileSync(`${root}${JOURNAL}`, JSON.stringify({ version: 1, command: "use local", started: "", ops: [good, bad] }));
    const error = await finishInterrupted(sys, new Date()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 3 });
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/nothing of it was replayed — look at it and at what it names, put right by hand what it was doing, then remove it to continue$/);
    expect(sys.stat(serverPath("/etc/exim4/sympl-local.d/first"))).toBeNull();
  });
});

describe("rebuild steps", () => {
  it("runs after the file steps, outside the journal, so a refused rebuild is not replayed later", async () => {
    const plan: Op[] = [
      { op: "run", cmd: "/bin/false", args: [], cwd: serverPath("/etc/exim4"), why: "rebuild" },
      { op: "write", path: serverPath("/etc/exim4/snippet"), data: Buffer.from("new\n"), why: "sync" },
    ];
    await expect(applyPlan(sys, "sync --make", plan, () => new Date())).rejects.toThrow(/\/bin\/false failed \(exit 1\)/);
    expect(readFileSync(`${root}/etc/exim4/snippet`, "utf8")).toBe("new\n");
    expect(sys.stat(JOURNAL)).toBeNull();
    expect(await finishInterrupted(sys, new Date())).toBeNull();
  });
});
