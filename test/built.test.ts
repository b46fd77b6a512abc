// The built config as part of the state: the pure verdicts by table, then
// real configs made by `make APP.conf` with the fixture's Makefile, and a
// real process standing in for the daemon.
import { readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { classifyBuilt, sortedAsMakeDoes, splitBuilt } from "../src/built/classify.js";
import type { TreeSnippet } from "../src/built/classify.js";
import { builtReport, classifyDaemon } from "../src/built/read.js";
import { status } from "../src/makefilecheck/commands.js";
import { changes, install } from "../src/changes/commands.js";
import { appPaths, type App } from "../src/server-layout.js";
import { damageInstallNew, inRoot, makeRoot, UPSTREAM_TREES, upgradeUpstream, writeSymplTree } from "./fixtures/sympl.js";
import { testContext } from "./support/context.js";
import { missingBinaries } from "./support/daemons.js";
import { later, makeConf, startStandIn } from "./support/built.js";
import { RealSystem } from "../src/system/real.js";

const snip = (rel: string, body: string, changedMs = 0): TreeSnippet => ({ rel, body, changedMs });

/** A built text in the fixture Makefile's framing. */
function framed(tree: string, parts: Array<[string, string]>, word = "from"): string {
  return parts.map(([rel, body]) => `#\n# ${word} ${tree}/${rel}\n#\n${body}`).join("");
}

/** The same in the older Symbiosis-style framing: rules round a full path, a blank line after. */
function ruled(dir: string, tree: string, parts: Array<[string, string]>): string {
  const rule = "# ----------\n";
  return parts.map(([rel, body]) => `${rule}# ${dir}/${tree}/${rel}\n${rule}\n${body}`).join("");
}

describe("built config verdict (pure)", () => {
  const local = [snip("00-main/10-a", "a = 1\n"), snip("00-main/20-b", "b = 2\n")];
  const upstream = [snip("00-main/10-a", "a = 0\n"), snip("00-main/20-b", "b = 2\n")];
  const parts = (s: TreeSnippet[]): Array<[string, string]> => s.map((x) => [x.rel, x.body]);
  const facts = (text: string | null, builtMs = 1000, snippets = local) => ({ text, builtMs, tree: "sympl-local.d" as const, snippets, other: () => upstream });

  it.each([
    ["nothing built", null, "missing"],
    ["built from the chosen tree", framed("sympl-local.d", parts(local)), "current"],
    ["built from it by a newer Makefile's banner", framed("sympl-local.d", parts(local), "snippet"), "current"],
    ["built with full paths under any root and another framing", ruled("/tmp/x/etc/exim4", "sympl-local.d", parts(local)), "current"],
    ["built from the other tree", framed("sympl.d", parts(upstream)), "stale"],
    ["a stock config with no banner", "exim_path = /usr/sbin/exim4\n", "differs"],
    ["a section edited by hand after the build", framed("sympl-local.d", [["00-main/10-a", "a = 9\n"], ["00-main/20-b", "b = 2\n"]]), "differs"],
    ["text added at the top by hand", `# mine\n${framed("sympl-local.d", parts(local))}`, "differs"],
  ])("%s: %s", (_what, text, state) => {
    expect(classifyBuilt(facts(text)).state).toBe(state);
  });

  it("a snippet changed (or added) after the build makes it stale, not differs", () => {
    const old = framed("sympl-local.d", [["00-main/10-a", "a = 0\n"], ["00-main/20-b", "b = 2\n"]]);
    const changed = [snip("00-main/10-a", "a = 1\n", 2000), snip("00-main/20-b", "b = 2\n")];
    expect(classifyBuilt(facts(old, 1000, changed)).state).toBe("stale");
    const added = [...local, snip("00-main/30-c", "c = 3\n", 2000)];
    expect(classifyBuilt(facts(framed("sympl-local.d", parts(local)), 1000, added)).state).toBe("stale");
    const addedBefore = [...local, snip("00-main/30-c", "c = 3\n", 500)];
    expect(classifyBuilt(facts(framed("sympl-local.d", parts(local)), 1000, addedBefore)).state).toBe("differs");
  });

  it("splits bodies out of the framing, whatever the trailer", () => {
    const text = ruled("/etc/exim4", "sympl.d", [["x/10-a", "one\n"], ["x/20-b", "two\n"]]);
    const { sections, framed: ok } = splitBuilt(text, new Map([["sympl.d/x/10-a", "one\n"]]));
    expect(ok).toBe(true);
    expect(sections).toEqual([{ tree: "sympl.d", rel: "x/10-a", body: "one\n" }, { tree: "sympl.d", rel: "x/20-b", body: "two\n" }]);
  });

  it("accepts the order of sort in the C locale and in a UTF-8 one, and no other", () => {
    expect(sortedAsMakeDoes(["10-acl/50-acl-check-rcpt/00-header", "10-acl/50-x", "10-acl-a"])).toBe(true);
    // In a UTF-8 locale punctuation weighs last: "10-acl-a" sorts before "10-acl/50-...".
    expect(sortedAsMakeDoes(["10-acl-a", "10-acl/50-acl-check-rcpt/00-header"])).toBe(true);
    expect(sortedAsMakeDoes(["20-b", "10-a"])).toBe(false);
  });

  it.each([
    ["no /run at all (a copy of /etc)", { runDir: false, pidFile: null }, "unknown", "unknown"],
    ["no pid file", { runDir: true, pidFile: null }, "stopped", "no"],
    ["a pid file that holds no number", { runDir: true, pidFile: { mtimeMs: 0, pid: null } }, "unknown", "unknown"],
    ["a pid that no process has", { runDir: true, pidFile: { mtimeMs: 0, pid: 7 }, process: null }, "stopped", "no"],
    ["built after the start", { runDir: true, pidFile: { mtimeMs: 0, pid: 7 }, process: { pid: 7, ppid: 1, name: "exim4", startedMs: 100 } }, "running", "needed"],
    ["pid file rewritten by a reload after the build", { runDir: true, pidFile: { mtimeMs: 2000, pid: 7 }, process: { pid: 7, ppid: 1, name: "exim4", startedMs: 100 } }, "running", "no"],
    ["config helper restarted after the build", { runDir: true, pidFile: { mtimeMs: 0, pid: 7 }, process: { pid: 7, ppid: 1, name: "dovecot", startedMs: 100 }, helpers: [{ pid: 8, ppid: 7, name: "config", startedMs: 2000 }] }, "running", "no"],
  ])("daemon: %s", (_what, f, daemon, reload) => {
    expect(classifyDaemon({ process: null, helpers: [], builtMs: 1000, ...f } as Parameters<typeof classifyDaemon>[0])).toEqual({ daemon, reload });
  });
});

describe("built config on a fixture server, with make and the real daemons", () => {
  const skip = missingBinaries("exim4", "dovecot", "make");
  let root: string;
  beforeEach(() => {
    root = makeRoot();
    writeSymplTree(root);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const statusOf = async (apps: App[] = ["exim4", "dovecot"]) => {
    const r = await status(testContext(root, { apps }), { _: [] });
    return { code: r.code, apps: r.apps as unknown as Array<Record<string, unknown> & { built: { state: string; daemon: string; reload: string } | null; next: string | null }> };
  };

  it.skipIf(skip)("install without make: exit 1 naming make; after make APP.conf: 0; after an upgrade that replaced the Makefile and ran the postinst's make: 1", async () => {
    for (const app of ["exim4", "dovecot"] as const) makeConf(root, app); // the stock build
    const installed = await install(testContext(root), { _: [], set: ["AUTO_IMAP_PORT=1143", "AUTO_IMAPS_PORT=1993"] });
    expect(installed.code).toBe(0);

    const inForce = async () => {
      const r = await changes(testContext(root, { apps: ["exim4"] }), { _: [] });
      const rows = (r.apps[0]!.changes as Array<{ id: string; state: string; inForce: boolean | null }>);
      return { rows: Object.fromEntries(rows.map((c) => [c.id, c.inForce])), lines: r.lines };
    };
    const before = await inForce();
    expect(before.rows).toMatchObject({ ch3: false, ch5: false, ch6: null }); // ch6: no firewall DB here, not installed
    expect(before.lines.join("\n")).toMatch(/ch3 +installed +NOT IN FORCE/);

    let s = await statusOf();
    expect(s.code).toBe(1);
    expect(s.apps[0]!.built).toEqual({ state: "stale", daemon: "unknown", reload: "unknown" });
    expect(s.apps[0]!.next).toBe("cd /etc/exim4 && make");

    for (const app of ["exim4", "dovecot"] as const) makeConf(root, app);
    s = await statusOf();
    expect(s.apps.map((a) => a.built?.state)).toEqual(["current", "current"]);
    expect(s.code).toBe(0);
    expect((await inForce()).rows).toMatchObject({ ch3: true, ch5: true, ch6: null });

    // The upgrade: a new upstream Makefile written over Makefile.local, then the postinst's build.
    damageInstallNew(root, "exim4");
    makeConf(root, "exim4");
    expect(readFileSync(inRoot(root, appPaths("exim4").conf), "utf8")).toMatch(/^# snippet sympl\.d\//m);
    s = await statusOf(["exim4"]);
    expect(s.code).toBe(1);
    expect(s.apps[0]!.built?.state).toBe("stale");
  });

  it.skipIf(skip)("a hand edit of the built file is `differs`; an upstream change after the build is `stale`", async () => {
    makeConf(root, "exim4");
    const sys = new RealSystem(root);
    expect(builtReport(sys, "exim4", "sympl").state).toBe("current");
    const conf = inRoot(root, appPaths("exim4").conf);
    await later();
    writeFileSync(conf, readFileSync(conf, "utf8").replace(/\n([a-z_]+ = )/, "\n# edited\n$1"));
    expect(builtReport(sys, "exim4", "sympl").state).toBe("differs");

    makeConf(root, "exim4");
    await later();
    const rel = Object.keys(UPSTREAM_TREES.exim4)[1]!;
    upgradeUpstream(root, "exim4", { modify: { [rel]: `${UPSTREAM_TREES.exim4[rel]}# changed by the upgrade\n` } });
    // dpkg keeps the package's mtime: only the ctime says the file is new.
    const old = new Date(Date.now() - 86_400_000);
    utimesSync(inRoot(root, `${appPaths("exim4").upstream}/${rel}`), old, old);
    expect(builtReport(sys, "exim4", "sympl").state).toBe("stale");
  });

  it.skipIf(skip)("reload: a real process stands in for the daemon, its pid in the pid file", async () => {
    expect((await install(testContext(root), { _: [], set: ["AUTO_IMAP_PORT=1143", "AUTO_IMAPS_PORT=1993"] })).code).toBe(0);
    for (const app of ["exim4", "dovecot"] as const) {
      makeConf(root, app);
      await later();
      const daemon = await startStandIn(root, app);
      try {
        const sys = new RealSystem(root);
        expect(builtReport(sys, app, "local")).toMatchObject({ state: "current", daemon: "running", reload: "no" });
        await later();
        makeConf(root, app); // rebuilt after the daemon read it
        expect(builtReport(sys, app, "local")).toMatchObject({ state: "current", daemon: "running", reload: "needed" });
        const s = await statusOf([app]);
        expect(s.code).toBe(1);
        expect(s.apps[0]!.next).toBe(`invoke-rc.d ${app} reload`);
        await later();
        if (app === "exim4") daemon.rewritePidFile(); // exim re-executes on HUP, keeping its pid
        else await daemon.restartHelper();
        expect(builtReport(sys, app, "local")).toMatchObject({ daemon: "running", reload: "no" });
      } finally {
        await daemon.stop();
      }
      expect(builtReport(new RealSystem(root), app, "local")).toMatchObject({ daemon: "stopped", reload: "no" });
    }
  });
});

