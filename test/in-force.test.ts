// The upgrade triggers put the hardening back in force: the exact command
// lines the apt hook and the systemd service contain, run against a fixture
// server whose upgrade replaced the Makefile and ran the postinst's
// `make APP.conf`, leave the built exim4.conf with the changes again; a tree
// the daemon rejects leaves the previous built config, said loudly.
import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sync } from "../src/sync/commands.js";
import { APT_HOOK, SERVICE_UNIT, UNIT_DIR } from "../src/upgrade/hook-files.js";
import { appPaths } from "../src/server-layout.js";
import { DryRunSystem } from "../src/system/wrappers.js";
import { RealSystem } from "../src/system/real.js";
import { damageInstallNew, inRoot, makeRoot, newerUpstreamMakefile, UPSTREAM_TREES, upgradeUpstream, writeSymplTree } from "./fixtures/sympl.js";
import { testContext } from "./support/context.js";
import { missingBinaries } from "./support/daemons.js";
import { later, makeConf, startStandIn } from "./support/built.js";
import { BIN, cli } from "./watch-child.js";
import { hostPath } from "../src/paths.js";
import type { HostPath } from "../src/paths.js";
import { jsonDocument } from "./support/json-schema.js";

const CH6 = "Blacklisted: Denied access - history of unwanted activity";
const skip = missingBinaries("exim4", "dovecot", "make");

/** The installed binary as the trigger files call it, landing in the fixture root. */
function wrapper(root: string, dir: string): string {
  const path = join(dir, "makefilecheck");
  writeFileSync(path, `#!/bin/sh\nexec ${process.execPath} ${BIN} "$@" --root ${root}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** The shell line of our DPkg::Post-Invoke, as apt reads it from the file. */
function aptCommand(root: string, bin: string): string {
  const r = spawnSync("apt-config", ["-c", inRoot(root, APT_HOOK), "dump", "--format", "%f\t%v%n", "DPkg::Post-Invoke"], { encoding: "utf8" });
  const line = r.stdout.split("\n").find((l) => l.startsWith("DPkg::Post-Invoke::\t") && l.includes(bin));
  if (!line) throw new Error(`no Post-Invoke line in ${APT_HOOK}: ${r.stderr}`);
  return line.slice(line.indexOf("\t") + 1);
}

/** The service's ExecStart lines, run as systemd would (a leading `-` ignores the exit). */
function runService(root: string): Array<{ status: number | null; stderr: string }> {
  const service = readFileSync(inRoot(root, `${UNIT_DIR}/${SERVICE_UNIT}`), "utf8");
  return service
    .split("\n")
    .filter((l) => l.startsWith("ExecStart="))
    .map((l) => {
      const [cmd, ...args] = l.slice("ExecStart=".length).replace(/^-/, "").split(" ");
      const r = spawnSync(cmd!, args, { encoding: "utf8" });
      return { status: r.status, stderr: r.stderr };
    });
}

const built = (root: string) => readFileSync(inRoot(root, appPaths("exim4").conf), "utf8");

/** An upgrade as the package does it: new upstream text, a new Makefile written over Makefile.local, then the postinst's build. */
function upgrade(root: string, n: number): void {
  const rel = Object.keys(UPSTREAM_TREES.exim4).find((r) => r.startsWith("00-main/"))!;
  upgradeUpstream(root, "exim4", { modify: { [rel]: `${readFileSync(inRoot(root, `${appPaths("exim4").upstream}/${rel}`), "utf8")}# upgrade ${n}\n` } });
  damageInstallNew(root, "exim4");
  makeConf(root, "exim4");
}

describe.skipIf(skip)("the triggers put the changes back in force", () => {
  let root: string;
  let binDir: string;
  let bin: string;
  beforeEach(() => {
    root = makeRoot();
    binDir = makeRoot();
    bin = wrapper(root, binDir);
    writeSymplTree(root);
    for (const app of ["exim4", "dovecot"] as const) makeConf(root, app);
    cli(root, ["install", "--set", "AUTO_CH6_DATABASE=sympl", "--set", "AUTO_IMAP_PORT=1143", "--set", "AUTO_IMAPS_PORT=1993"]);
    for (const app of ["exim4", "dovecot"] as const) makeConf(root, app);
    expect(built(root)).toContain(CH6);
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(binDir, { recursive: true, force: true });
  });

  it("apt hook, then the systemd service: after each upgrade the built exim4.conf has ch6 again; status exits 0", () => {
    upgrade(root, 1);
    expect(built(root)).not.toContain(CH6);
    expect(spawnSync(process.execPath, [BIN, "status", "--root", root]).status).toBe(1);

    cli(root, ["hooks", "--install", "--only", "apt", "--bin", bin]);
    const apt = spawnSync("/bin/sh", ["-c", aptCommand(root, bin)], { encoding: "utf8" });
    expect([apt.status, apt.stdout, apt.stderr]).toEqual([0, "", ""]); // -q: silent when all went well
    expect(built(root)).toContain(CH6);
    expect(built(root)).toMatch(/^# snippet sympl-local\.d\//m); // built by the upgrade's Makefile, from the local tree
    expect(spawnSync(process.execPath, [BIN, "status", "--root", root]).status).toBe(0);

    upgrade(root, 2);
    expect(built(root)).not.toContain(CH6);
    cli(root, ["hooks", "--install", "--only", "systemd", "--bin", bin]);
    expect(runService(root).map((r) => r.status)).toEqual([0, 0]);
    expect(built(root)).toContain(CH6);
    expect(spawnSync(process.execPath, [BIN, "status", "--root", root]).status).toBe(0);
  });

  it("a release that changes only the Makefile: repair makes Makefile.local again and sync --make builds with it", async () => {
    await later();
    // dpkg replaces the packaged Makefile (plain, as dpkg recorded it); no snippet changes.
    writeFileSync(inRoot(root, appPaths("exim4").makefile), newerUpstreamMakefile("exim4"));
    cli(root, ["repair", "-a", "exim4"]);
    expect(built(root)).toMatch(/^# from sympl-local\.d\//m); // still the old Makefile's build
    const out = cli(root, ["sync", "--make", "-a", "exim4"]);
    expect(out).toMatch(/exim4\.conf was built before its Makefile changed: rebuilt/);
    expect(built(root)).toMatch(/^# snippet sympl-local\.d\//m);
    expect(built(root)).toContain(CH6);
    expect(spawnSync(process.execPath, [BIN, "status", "--root", root]).status).toBe(0);
  });

  it("a tree the daemon rejects: the previous built config stays, the trigger says so on stderr, status exits 1", async () => {
    cli(root, ["hooks", "--install", "--only", "apt", "--bin", bin]);
    const before = built(root);
    const local = inRoot(root, `${appPaths("exim4").local}/00-main/25-logging`);
    await later();
    writeFileSync(local, `${readFileSync(local, "utf8")}no_such_main_option = yes\n`);
    const apt = spawnSync("/bin/sh", ["-c", aptCommand(root, bin)], { encoding: "utf8" });
    expect(apt.status).toBe(0); // never fails apt
    expect(apt.stderr).toMatch(/^exim4: config test FAILED: \/etc\/exim4\/exim4\.conf was NOT rebuilt and stays as it was.*no_such_main_option/m);
    expect(apt.stderr).toMatch(/sync needs attention/);
    expect(built(root)).toBe(before);
    const status = spawnSync(process.execPath, [BIN, "status", "--root", root, "--json"], { encoding: "utf8" });
    expect(status.status).toBe(1);
    expect(jsonDocument(status.stdout).apps[0].built.state).toBe("stale");
  });

  it("a hand-edited built file is saved before it is replaced; a reload is planned only with --root /, shown under --dry-run", async () => {
    const conf = inRoot(root, appPaths("exim4").conf);
    await later();
    writeFileSync(conf, `${built(root)}# my own line\n`);
    const daemon = await startStandIn(root, "exim4");
    try {
      // As on the server itself (root /), under --dry-run: the steps are shown, none is run.
      const dry = testContext(root, { dryRun: true, apps: ["exim4"] });
      const slash = new (class extends DryRunSystem {
        override get root(): HostPath {
          return hostPath("/");
        }
      })(new RealSystem(root));
      const shown = await sync({ ...dry, sys: slash }, { _: ["sync"], make: true });
      expect(shown.plan?.filter((op) => op.op === "run").map((op) => (op.op === "run" ? `${op.cmd} ${op.args.at(-1)}` : ""))).toEqual(["make exim4.conf", "invoke-rc.d reload"]);
      expect(built(root)).toContain("# my own line");

      const r = await sync(testContext(root, { apps: ["exim4"] }), { _: ["sync"], make: true });
      expect(r.code).toBe(0);
      expect(r.lines.join("\n")).toMatch(/^exim4: nothing to sync; .*; not reloaded: under --root/m);
      expect(r.plan?.some((op) => op.op === "run" && op.cmd === "invoke-rc.d")).toBe(false);
      const savedLine = r.lines.find((l) => l.includes("edited by hand"))!;
      const saved = /kept in ([^\s;]+)/.exec(savedLine)![1]!;
      expect(readFileSync(inRoot(root, saved), "utf8")).toContain("# my own line");
      expect(built(root)).not.toContain("# my own line");
      expect(built(root)).toContain(CH6);
    } finally {
      await daemon.stop();
    }
  });
});
