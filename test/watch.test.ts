// The real `makefilecheck watch`, as a child process on a fixture tree under
// a temp root: simulated Sympl upgrades (hundreds of upstream writes plus
// each Makefile damage of docs/sympl.md), a conflicting local edit, and
// SIGTERM. Needs `npm run build` first.
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { App } from "../src/server-layout.js";
import { RealSystem } from "../src/system/real.js";
import {
  UPSTREAM_TREES,
  damageInstallNew,
  damageKeepOld,
  damagePlainFile,
  inRoot,
  makeRoot,
  setupLegacy,
  upgradeUpstream,
} from "./fixtures/sympl.js";
import { missingBinaries } from "./support/daemons.js";
import { cli, WatchChild } from "./watch-child.js";
import { serverPath } from "../src/paths.js";

const DEBOUNCE = ["--debounce", "300"];

/** A server in local mode with a baseline: the old tooling's tree, adopted. */
function localServer(root: string): void {
  for (const app of ["exim4", "dovecot"] as const) setupLegacy(root, app);
  cli(root, ["use", "local", "--no-check"]);
  cli(root, ["sync", "--adopt"]);
}

/** What an upgrade of `app` brings: `count` new snippets in a new directory, one changed. */
function upgrade(root: string, app: App, tag: string, count: number): Record<string, string> {
  const add: Record<string, string> = {};
  for (let i = 0; i < count; i += 1) add[`35-${tag}/n${String(i).padStart(3, "0")}`] = `# ${tag} snippet ${i}\n`;
  const [changed, text] = Object.entries(UPSTREAM_TREES[app])[1]!;
  const modify = { [changed]: `${text}# changed by upgrade ${tag}\n` };
  upgradeUpstream(root, app, { add, modify });
  return { ...add, ...modify };
}

function localText(root: string, app: App, rel: string): string {
  return readFileSync(inRoot(root, `/etc/${app}/sympl-local.d/${rel}`), "utf8");
}

// Every test gets a managed server under a fresh root, and any watcher it
// started is killed afterwards.
let root: string;
let watcher: WatchChild | undefined;
beforeEach(() => {
  root = makeRoot();
  localServer(root);
});
afterEach(async () => {
  await watcher?.stop("SIGKILL");
  watcher = undefined;
  rmSync(root, { recursive: true, force: true });
});

describe("watch (real binary)", () => {
  it("after each upgrade burst and Makefile damage: the mode is restored, upstream is in sympl-local.d, one sync per burst", async () => {
    watcher = new WatchChild(root, DEBOUNCE);
    await watcher.waitFor((l) => l.event === "ready");
    const damages: Array<[string, (root: string, app: App) => void]> = [
      ["keep-old", damageKeepOld],
      ["install-new", damageInstallNew],
      ["plain-file", damagePlainFile],
    ];
    for (const [round, [tag, damage]] of damages.map((d, i) => [i + 1, d] as const)) {
      const exim = upgrade(root, "exim4", tag, 150);
      const dovecot = upgrade(root, "dovecot", tag, 100);
      damage(root, "exim4");
      const synced = await watcher.waitFor((l) => l.action === "sync" && l.round === round);
      expect(synced.status, String(synced.text)).toBe("ok");
      expect(watcher.actions("sync")).toHaveLength(round);
      expect(watcher.actions("repair").at(-1)?.round).toBe(round);
      expect(synced.apps).toEqual(["exim4", "dovecot"]);

      expect(readlinkSync(inRoot(root, "/etc/exim4/Makefile")), tag).toBe("Makefile.local");
      expect(readFileSync(inRoot(root, "/etc/exim4/Makefile.local"), "utf8")).toMatch(/^snippets_dir\s*:= sympl-local\.d$/m);
      for (const [rel, text] of Object.entries(exim)) expect(localText(root, "exim4", rel)).toBe(text);
      for (const [rel, text] of Object.entries(dovecot)) expect(localText(root, "dovecot", rel)).toBe(text);
      expect(watcher.running).toBe(true);
    }

    // One write after the last round: had any write of the watcher's own
    // rounds counted as an event, it would show up here as a round of its
    // own or as extra events in this one.
    const probe = inRoot(root, "/etc/dovecot/sympl.d/10-main/99-probe");
    mkdirSync(dirname(probe), { recursive: true });
    writeFileSync(`${probe}.dpkg-new`, "# probe\n");
    renameSync(`${probe}.dpkg-new`, probe);
    const last = await watcher.waitFor((l) => l.action === "sync" && l.round === 4);
    expect(last).toMatchObject({ paths: 1, apps: ["dovecot"], status: "ok" });

    expect(await watcher.stop("SIGTERM")).toBe(0);
    expect(watcher.lines.at(-1)).toMatchObject({ event: "stopped", signal: "SIGTERM", rounds: 4 });
  }, 180_000); // four rounds of hundreds of writes: on two loaded cores they can outlast the suite's 60 s per test

  it("reports a conflict loudly, leaves the local edit alone and keeps watching", async () => {
    const rel = Object.keys(UPSTREAM_TREES.exim4)[1]!;
    const original = UPSTREAM_TREES.exim4[rel]!;
    const local = `${original}# our own tweak\n`;
    writeFileSync(inRoot(root, `/etc/exim4/sympl-local.d/${rel}`), local);
    watcher = new WatchChild(root, DEBOUNCE);
    await watcher.waitFor((l) => l.event === "ready");

    upgradeUpstream(root, "exim4", { modify: { [rel]: `${original}# upstream's different tweak\n` } });
    const synced = await watcher.waitFor((l) => l.action === "sync");
    expect(synced.status).toBe("CONFLICT");
    expect(String(synced.text)).toContain(`sync: CONFLICT: exim4: 1 conflict (${rel})`); // the line names the file
    expect(localText(root, "exim4", rel)).toBe(local);
    expect(localText(root, "exim4", `${rel}.sympl-new`)).toContain("upstream's different tweak");
    expect(watcher.running).toBe(true);

    // Still watching: the next upgrade is synced as usual.
    const next = upgrade(root, "exim4", "later", 3);
    await watcher.waitFor((l) => l.action === "sync" && l.round === 2);
    for (const [path, text] of Object.entries(next)) if (path !== rel) expect(localText(root, "exim4", path)).toBe(text);
    expect(await watcher.stop("SIGINT")).toBe(0);
  });
});

describe("watch rounds run as child processes (real binary)", () => {
  it("under --dry-run, a round says what it would run and runs no child: nothing changes", async () => {
    watcher = new WatchChild(root, [...DEBOUNCE, "--dry-run"]);
    await watcher.waitFor((l) => l.event === "ready");
    const exim = upgrade(root, "exim4", "dry", 20);
    damagePlainFile(root, "exim4");
    const synced = await watcher.waitFor((l) => l.action === "sync");
    expect(String(synced.text)).toBe("sync: dry run: would run makefilecheck sync");
    expect(String(watcher.actions("repair")[0]?.text)).toBe("repair: dry run: would run makefilecheck repair");
    expect(lstatSync(inRoot(root, "/etc/exim4/Makefile")).isSymbolicLink()).toBe(false);
    for (const [rel, text] of Object.entries(exim)) {
      const local = inRoot(root, `/etc/exim4/sympl-local.d/${rel}`);
      expect(existsSync(local) ? readFileSync(local, "utf8") : null, rel).not.toBe(text);
    }
    expect(await watcher.stop("SIGTERM")).toBe(0);
  });

  it("acts at once on an upgrade that came before it started: no event needed", async () => {
    const exim = upgrade(root, "exim4", "before", 3);
    damageKeepOld(root, "exim4");
    watcher = new WatchChild(root, DEBOUNCE);
    await watcher.waitFor((l) => l.event === "ready");
    expect(await watcher.waitFor((l) => l.event === "pending")).toMatchObject({ apps: ["exim4"] });
    const synced = await watcher.waitFor((l) => l.action === "sync" && l.round === 1);
    expect(synced).toMatchObject({ status: "ok", apps: ["exim4"] });
    expect(watcher.actions("repair").at(-1)).toMatchObject({ round: 1, status: "ok" });
    for (const [rel, text] of Object.entries(exim)) expect(localText(root, "exim4", rel), rel).toBe(text);
    expect(readFileSync(inRoot(root, "/etc/exim4/Makefile.local"), "utf8")).toMatch(/^snippets_dir\s*:= sympl-local\.d$/m);
    expect(await watcher.stop("SIGTERM")).toBe(0);
    expect(watcher.lines.at(-1)).toMatchObject({ event: "stopped", rounds: 1 });
  });

  it("stops, with exit 0 and no stack trace, at its first line after the reader of its output has gone", async () => {
    watcher = new WatchChild(root, DEBOUNCE);
    await watcher.waitFor((l) => l.event === "ready");
    const exited = watcher.closeOutput();
    const exim = upgrade(root, "exim4", "gone", 3);
    expect(await exited).toBe(0);
    expect(watcher.stderr.join("")).toBe("");
    // The round that found the reader gone still finished its sync.
    for (const [rel, text] of Object.entries(exim)) expect(localText(root, "exim4", rel), rel).toBe(text);
  });

  it("on Ctrl-C at a terminal (SIGINT to the whole group), the sync in flight still finishes", async () => {
    watcher = new WatchChild(root, DEBOUNCE, { ownGroup: true });
    await watcher.waitFor((l) => l.event === "ready");
    const exim = upgrade(root, "exim4", "ctrl-c", 300);
    // 300 new snippets keep the sync child busy for a while.
    await watcher.waitForChildRunning("sync");
    expect(await watcher.interruptGroup()).toBe(0);
    expect(watcher.actions("sync")).toMatchObject([{ status: "ok" }]);
    for (const [rel, text] of Object.entries(exim)) expect(localText(root, "exim4", rel)).toBe(text);
    expect(watcher.lines.at(-1)).toMatchObject({ event: "stopped", signal: "SIGINT" });
  });

  it("does the round again once another run has let go of the lock", async () => {
    const release = await new RealSystem(root).lock(serverPath("/var/lib/makefilecheck/lock"), 0);
    // The rounds' children wait 0.3 s for the lock instead of a trigger's 90 s, then give up with LockHeldError.
    watcher = new WatchChild(root, [...DEBOUNCE, "--wait", "0.3"]);
    await watcher.waitFor((l) => l.event === "ready");
    const exim = upgrade(root, "exim4", "locked", 5);
    const lost = await watcher.waitFor((l) => l.action === "sync" && l.round === 1);
    expect(lost).toMatchObject({ status: "FAILED", code: 3 });
    expect(String(lost.message)).toContain("holds the lock");
    await release();
    const synced = await watcher.waitFor((l) => l.action === "sync" && l.status === "ok");
    for (const [rel, text] of Object.entries(exim)) expect(localText(root, "exim4", rel)).toBe(text);
    expect(watcher.running).toBe(true);
    expect(Number(synced.round)).toBeGreaterThan(1);
  });
});

describe.skipIf(missingBinaries("exim4", "make"))("watch --make (real exim4)", () => {
  it("rebuilds the live config after a good upgrade, and never after one exim rejects", async () => {
    const conf = inRoot(root, "/etc/exim4/exim4.conf");
    watcher = new WatchChild(root, [...DEBOUNCE, "--make", "-a", "exim4"]);
    await watcher.waitFor((l) => l.event === "ready");

    upgradeUpstream(root, "exim4", { add: { "00-main/70-good": "# a harmless new upstream snippet\n" } });
    const good = await watcher.waitFor((l) => l.action === "sync" && l.round === 1);
    expect(good.status, String(good.text)).toBe("ok");
    const built = readFileSync(conf, "utf8");
    expect(built).toContain("# a harmless new upstream snippet");

    upgradeUpstream(root, "exim4", { add: { "00-main/71-broken": "this_is_no_exim_option = 1\n" } });
    const bad = await watcher.waitFor((l) => l.action === "sync" && l.round === 2);
    expect(bad.status).toBe("FAILED");
    expect(String(bad.text)).toMatch(/^sync: FAILED: /);
    expect(readFileSync(conf, "utf8")).toBe(built);
    expect(watcher.running).toBe(true);
    expect(await watcher.stop("SIGTERM")).toBe(0);
  });
});
