/**
 * What `status` remembers between runs: drift's stat cache, the
 * built-config verdict and its memo of the facts it found, recorded once
 * the files it read have settled, so an unchanged installed server is
 * answered without reading a snippet, the built file or any tree. And what
 * they must never hide: a snippet edited in the same second the caches were
 * written, a built config made again behind our back, any change the memo
 * rests on, a daemon that started or stopped.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { install } from "../src/changes/commands.js";
import type { Context } from "../src/context.js";
import { status } from "../src/makefilecheck/commands.js";
import { appPaths, CACHE_DIR, STATE_DIR } from "../src/server-layout.js";
import { RealSystem } from "../src/system/real.js";
import { CacheOnlySystem, ReadOnlySystem } from "../src/system/wrappers.js";
import { memoPath } from "../src/makefilecheck/status-memo.js";
import { builtCachePath } from "../src/tree/built-cache.js";
import { readStatCache, statCachePath } from "../src/tree/statcache.js";
import { damageInstallNew, inRoot, makeRoot, writeSymplTree } from "./fixtures/sympl.js";
import { makeConf } from "./support/built.js";
import { testContext } from "./support/context.js";
import { missingBinaries } from "./support/daemons.js";
import { serverPath, snippetPath } from "../src/paths.js";
import type { ServerPath } from "../src/paths.js";
import type { Entry, Listed } from "../src/system/system.js";

/** A RealSystem that counts the reads of snippets and built files, and notes every file read and directory listed. */
class CountingSystem extends RealSystem {
  reads: string[] = [];
  allReads: string[] = [];
  listings: string[] = [];
  override readFile(path: ServerPath, sizeHint?: number): Buffer {
    if (path.includes(".d/") || path.endsWith(".conf")) this.reads.push(path);
    this.allReads.push(path);
    return super.readFile(path, sizeHint);
  }
  override list(path: ServerPath): string[] {
    this.listings.push(path);
    return super.list(path);
  }
  override listDetailed(path: ServerPath, detail: (name: string, type: Entry["type"]) => boolean): Listed[] {
    this.listings.push(path);
    return super.listDetailed(path, detail);
  }
}

const skip = missingBinaries("exim4", "dovecot", "make");
/** A status run this long after the files were written: they have settled (the rule is 2 s). */
const A_MINUTE = 60_000;
const GENERAL = serverPath("/etc/exim4/sympl-local.d/00-main/10-general");

let root: string;
beforeEach(async () => {
  root = makeRoot();
  writeSymplTree(root);
  const installed = await install(testContext(root), { _: [], set: ["AUTO_IMAP_PORT=1143", "AUTO_IMAPS_PORT=1993"] });
  expect(installed.code).toBe(0);
  for (const app of ["exim4", "dovecot"] as const) makeConf(root, app);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Runs status as the CLI does (read-only, caches through the cache-only System), `laterMs` after now. */
async function statusRun(laterMs = 0) {
  const counting = new CountingSystem(root);
  const ctx: Context = {
    ...testContext(root),
    sys: new ReadOnlySystem(counting),
    caches: new CacheOnlySystem(new RealSystem(root), CACHE_DIR),
    now: () => new Date(Date.now() + laterMs),
  };
  const r = await status(ctx, { _: [] });
  const apps = r.apps as unknown as Array<Record<string, unknown> & { drift: { counts: Record<string, number> } | null; built: { state: string; daemon: string } | null }>;
  return { code: r.code, apps, lines: r.lines, reads: counting.reads, allReads: counting.allReads, listings: counting.listings };
}

/** Writes `path` (server path) again with the same size and puts its mtime back to the nanosecond: only its ctime tells. */
function rewriteSameSize(path: string, edit: (text: string) => string): void {
  const host = inRoot(root, path);
  const before = statSync(host, { bigint: true });
  const text = readFileSync(host, "utf8");
  const edited = edit(text);
  expect(edited.length).toBe(text.length);
  writeFileSync(host, edited);
  const ns = before.mtimeNs;
  execFileSync("touch", ["-m", "-d", `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, "0")}`, host]);
  const after = statSync(host, { bigint: true });
  expect([after.ino, after.size, after.mtimeNs]).toEqual([before.ino, before.size, before.mtimeNs]);
}

describe("status's caches", () => {
  it.skipIf(skip)("an unchanged installed server is answered from them, reading no snippet and no built file", async () => {
    const fresh = await statusRun();
    expect(fresh.code).toBe(0);
    expect(fresh.reads.length).toBeGreaterThan(20);
    // Everything was just written: nothing is trusted yet, nothing recorded.
    for (const app of ["exim4", "dovecot"] as const) expect(statSync(inRoot(root, builtCachePath(app)), { throwIfNoEntry: false })).toBeUndefined();

    const settled = await statusRun(A_MINUTE);
    expect(settled.reads.length).toBeGreaterThan(20);
    for (const app of ["exim4", "dovecot"] as const) {
      expect(statSync(inRoot(root, statCachePath(app))).mode & 0o777).toBe(0o600);
      expect(statSync(inRoot(root, builtCachePath(app))).mode & 0o777).toBe(0o600);
    }

    const cached = await statusRun(A_MINUTE);
    expect(cached.reads).toEqual([]);
    expect(cached.code).toBe(0);
    expect(cached.apps).toEqual(settled.apps);
    expect(cached.apps.map((a) => a.built?.state)).toEqual(["current", "current"]);
  });

  it.skipIf(skip)("a snippet edited in the same second the caches were written still shows as changed, and is not trusted", async () => {
    const settled = await statusRun(A_MINUTE);
    expect(settled.code).toBe(0);
    rewriteSameSize(GENERAL, (t) => t.replace(/[a-z]/, "X"));

    const edited = await statusRun();
    expect(edited.code).toBe(1);
    expect(edited.apps[0]!.drift!.counts["local-modified"]).toBe((settled.apps[0]!.drift!.counts["local-modified"] ?? 0) + 1);
    expect(edited.apps[0]!.built!.state).toBe("stale");

    // Changed within the cache's 2 s: recorded by neither cache, so read again next time.
    const sys = new RealSystem(root);
    const stamp = sys.stat(GENERAL)!;
    expect(readStatCache(sys, "exim4")!.local(snippetPath("00-main/10-general"), stamp as Required<typeof stamp>)).toBeUndefined();
    const again = await statusRun();
    expect(again.reads).toContain(GENERAL);
    expect(again.apps).toEqual(edited.apps);
  });

  it.skipIf(skip)("a built config made again behind our back is noticed", async () => {
    expect((await statusRun(A_MINUTE)).code).toBe(0);
    const conf = appPaths("exim4").conf;
    rewriteSameSize(conf, (t) => t.replace(/^(\s*)([a-z])/m, (_m, sp: string, c: string) => `${sp}${c === "x" ? "y" : "x"}`));
    const edited = await statusRun(A_MINUTE);
    expect(edited.apps[0]!.built!.state).toBe("differs");
    expect(edited.code).toBe(1);

    // Built again from sympl.d, as an upgrade's postinst does after putting its own Makefile back.
    makeConf(root, "exim4");
    expect((await statusRun(A_MINUTE)).apps[0]!.built!.state).toBe("current");
    damageInstallNew(root, "exim4");
    makeConf(root, "exim4");
    const rebuilt = await statusRun(A_MINUTE);
    expect(rebuilt.apps[0]!.built!.state).toBe("stale");
    expect(rebuilt.code).toBe(1);
  });
});

/** The apps status gives when it remembers nothing: its memos removed first. */
async function withoutMemo() {
  for (const app of ["exim4", "dovecot"] as const) rmSync(inRoot(root, memoPath(app)), { force: true });
  return statusRun(A_MINUTE);
}

/** Three settled runs: the first records the caches, the second the memo (which rests on them), the third answers from it. */
async function memoInPlace() {
  await statusRun(A_MINUTE);
  await statusRun(A_MINUTE);
  return statusRun(A_MINUTE);
}

describe("status's memo", () => {
  it.skipIf(skip)("answers an unchanged server from the memo: no directory listed, no file read but the memo", async () => {
    const settled = await statusRun(A_MINUTE);
    const remembered = await memoInPlace();
    expect(remembered.listings).toEqual([]);
    expect(remembered.allReads).toEqual([memoPath("exim4"), memoPath("dovecot")]);
    expect(remembered.apps).toEqual(settled.apps);
    expect(remembered.lines).toEqual(settled.lines);
    expect(statSync(inRoot(root, memoPath("exim4"))).mode & 0o777).toBe(0o600);
  });

  it.skipIf(skip)("is not used once anything it rests on changed: each change shows as status shows it without the memo", async () => {
    const changes: Array<[string, () => void]> = [
      ["a new upstream snippet", () => writeFileSync(inRoot(root, "/etc/exim4/sympl.d/00-main/99-new-upstream"), "# new\n")],
      ["a local snippet removed", () => rmSync(inRoot(root, GENERAL))],
      ["an edit of the same size whose mtime was put back", () => rewriteSameSize(serverPath("/etc/dovecot/sympl-local.d/10-main/20-logging"), (t) => t.replace(/[a-z]/, "X"))],
      ["the Makefile link turned to sympl.d by hand", () => symlinkSync("Makefile.sympl", inRoot(root, "/etc/exim4/Makefile.tmp")) === undefined && renameSync(inRoot(root, "/etc/exim4/Makefile.tmp"), inRoot(root, "/etc/exim4/Makefile"))],
    ];
    for (const [what, change] of changes) {
      const before = await memoInPlace();
      expect(before.allReads, what).toEqual([memoPath("exim4"), memoPath("dovecot")]);
      change();
      const after = await statusRun(A_MINUTE);
      expect(after.listings.length, what).toBeGreaterThan(0);
      expect(after.apps, what).not.toEqual(before.apps);
      expect(after.apps, what).toEqual((await withoutMemo()).apps);
    }
  });

  it.skipIf(skip)("asks the daemon each time: a daemon's run directory appearing is reported though no fact changed", async () => {
    const remembered = await memoInPlace();
    expect(remembered.apps.map((a) => a.built?.daemon)).toEqual(["unknown", "unknown"]);
    mkdirSync(inRoot(root, "/run/exim4"), { recursive: true });
    const after = await statusRun(A_MINUTE);
    expect(after.allReads).toEqual([memoPath("exim4"), memoPath("dovecot")]);
    expect(after.apps.map((a) => a.built?.daemon)).toEqual(["stopped", "unknown"]);
  });

  it.skipIf(skip)("is not recorded while a file it rests on is younger than 2 s, and a memo of another version is not used", async () => {
    // Just installed: every file is too young.
    await statusRun();
    expect(statSync(inRoot(root, memoPath("exim4")), { throwIfNoEntry: false })).toBeUndefined();
    await memoInPlace();
    const path = inRoot(root, memoPath("exim4"));
    writeFileSync(path, readFileSync(path, "utf8").replace(/"version":"[^"]*"/, '"version":"0.0.0-other"'));
    const other = await statusRun(A_MINUTE);
    expect(other.listings).toContain(appPaths("exim4").local);
    expect(other.listings).not.toContain(appPaths("dovecot").local);
  });
});
