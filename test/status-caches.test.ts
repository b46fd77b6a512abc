/**
 * What `status` remembers between runs: drift's stat cache, recorded once
 * the files it read have settled, so drift on an unchanged installed server
 * hashes no snippet again. And what it must never hide: a snippet edited in
 * the same second the cache was written, a built config made again behind
 * our back.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { install } from "../src/changes/commands.js";
import type { Context } from "../src/context.js";
import { status } from "../src/makefilecheck/commands.js";
import { appPaths, CACHE_DIR } from "../src/server-layout.js";
import { RealSystem } from "../src/system/real.js";
import { CacheOnlySystem, ReadOnlySystem } from "../src/system/wrappers.js";
import { readStatCache, statCachePath } from "../src/tree/statcache.js";
import { damageInstallNew, inRoot, makeRoot, writeSymplTree } from "./fixtures/sympl.js";
import { makeConf } from "./support/built.js";
import { testContext } from "./support/context.js";
import { missingBinaries } from "./support/daemons.js";
import { serverPath, snippetPath } from "../src/paths.js";
import type { ServerPath } from "../src/paths.js";

/** A RealSystem that counts the reads of snippets and built files. */
class CountingSystem extends RealSystem {
  reads: string[] = [];
  override readFile(path: ServerPath, sizeHint?: number): Buffer {
    if (path.includes(".d/") || path.endsWith(".conf")) this.reads.push(path);
    return super.readFile(path, sizeHint);
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
  return { code: r.code, apps, lines: r.lines, reads: counting.reads };
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
  it.skipIf(skip)("records the stat cache once the files have settled, and answers alike from it", async () => {
    const settled = await statusRun(A_MINUTE);
    expect(settled.code).toBe(0);
    for (const app of ["exim4", "dovecot"] as const) expect(statSync(inRoot(root, statCachePath(app))).mode & 0o777).toBe(0o600);
    const cached = await statusRun(A_MINUTE);
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
