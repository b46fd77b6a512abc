/**
 * The run lock is a kernel lock on an open file: it ends with its holder,
 * even one killed by SIGKILL, and a live holder is waited for, then the run
 * ends with exit 3 (LockHeldError). Holders here are processes of their own.
 */
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { withLock } from "../src/context.js";
import { EnvironmentError, LockHeldError } from "../src/errors.js";
import { repair } from "../src/makefilecheck/commands.js";
import { RealSystem } from "../src/system/real.js";
import { damageKeepOld, hashTree, inRoot } from "./fixtures/sympl.js";
import { testContext } from "./support/context.js";
import { managedTree } from "./support/makefilecheck-trees.js";
import { withTempRoot } from "./support/temp-root.js";
import { serverPath } from "../src/paths.js";
import { jsonDocument } from "./support/json-schema.js";

let root: string;
withTempRoot((r) => (root = r));

const HOLDER = fileURLToPath(new URL("support/lock-holder.ts", import.meta.url));
const noCheck = { _: [], check: false };

/** Starts a holder that keeps the lock `holdMs`; resolves once it has it. */
async function holder(holdMs: number): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", HOLDER, root, String(holdMs)], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  await new Promise<void>((ok, fail) => {
    child.stdout!.on("data", (d: Buffer) => d.toString().includes("locked") && ok());
    child.on("exit", (code) => fail(new Error(`lock holder exited ${code} before locking`)));
  });
  return { child, exited };
}

describe("the run lock", () => {
  it("dies with a holder killed by SIGKILL: the next run does not wait at all", async () => {
    await managedTree(root, ["exim4"]);
    damageKeepOld(root, "exim4");
    const { child, exited } = await holder(600_000);
    child.kill("SIGKILL");
    await exited;
    const ctx = { ...testContext(root, { apps: ["exim4"] }), lockWaitMs: 0 };
    expect((await repair(ctx, noCheck)).code).toBe(0);
  });

  it("waits for a live holder and goes ahead once it lets go", async () => {
    await managedTree(root, ["exim4"]);
    damageKeepOld(root, "exim4");
    const { exited } = await holder(2_000);
    const ctx = { ...testContext(root, { apps: ["exim4"] }), lockWaitMs: 30_000 };
    const result = await repair(ctx, noCheck);
    // The holder writes holder-done just before it lets go: the repair got the lock only after that.
    expect(existsSync(`${root}/holder-done`)).toBe(true);
    expect(result.code).toBe(0);
    await exited;
  });

  it("a holder that stays past the wait ends the run with LockHeldError (exit 3); nothing changed", async () => {
    await managedTree(root, ["exim4"]);
    damageKeepOld(root, "exim4");
    const { child, exited } = await holder(600_000);
    try {
      const before = hashTree(inRoot(root, "/etc"));
      const ctx = { ...testContext(root, { apps: ["exim4"] }), lockWaitMs: 300 };
      const error = await repair(ctx, noCheck).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockHeldError);
      expect(error).toMatchObject({
        code: 3,
        message: "/var/lib/makefilecheck/lock: another makefilecheck run holds the lock (waited 0.3 s) — wait for it to finish, then run this again",
      });
      expect(hashTree(inRoot(root, "/etc"))).toBe(before);
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
  });

  it.skipIf(!existsSync(fileURLToPath(new URL("../dist/makefilecheck.cjs", import.meta.url))))("bin/: a busy lock is exit 3, and --json names it LockHeldError for the watcher", async () => {
    await managedTree(root, ["exim4"]);
    damageKeepOld(root, "exim4");
    const { child, exited } = await holder(600_000);
    try {
      const bin = fileURLToPath(new URL("../bin/makefilecheck", import.meta.url));
      const r = spawnSync(bin, ["--root", root, "-a", "exim4", "--wait", "0.2", "--json", "repair"], { encoding: "utf8" });
      expect(r.status).toBe(3);
      expect(jsonDocument(r.stdout)).toMatchObject({ error: { kind: "LockHeldError", exit: 3 } });
      expect(r.stderr).toMatch(/^makefilecheck: \/var\/lib\/makefilecheck\/lock: another makefilecheck run holds the lock \(waited 0.2 s\)/);
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
  });

  it("two holders in one process exclude each other too (the lock is per open file)", async () => {
    const sys = new RealSystem(root);
    const release = await sys.lock(serverPath("/var/lib/makefilecheck/lock"), 0);
    await expect(sys.lock(serverPath("/var/lib/makefilecheck/lock"), 0)).rejects.toBeInstanceOf(LockHeldError);
    await release();
    await (await sys.lock(serverPath("/var/lib/makefilecheck/lock"), 0))();
  });

  it("reports a lock it could not let go of instead of swallowing it", async () => {
    const real = new RealSystem(root);
    const sys = Object.assign(Object.create(real) as RealSystem, {
      lock: async () => async () => {
        throw new Error("EBADF: bad file descriptor, close");
      },
    });
    const ctx = { ...testContext(root), sys };
    const error = await withLock(ctx, async () => "done").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EnvironmentError);
    expect((error as Error).message).toMatch(/^\/var\/lib\/makefilecheck\/lock: the run is done, but letting go of the lock failed: EBADF/);
    // After a failed body, the body's error stands and the release failure is a note.
    const failed = await withLock(ctx, async () => {
      throw new Error("body failed");
    }).catch((e: unknown) => e);
    expect((failed as Error).message).toBe("body failed");
    expect(ctx.notes).toEqual(["warning: EBADF: bad file descriptor, close"]);
  });
});
