// The upgrade triggers: the exact command lines in the generated apt hook
// and systemd service are run against a damaged fixture tree, apt's and
// systemd's own parsers read the files, and install/remove touch only what
// is ours.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hooks } from "../src/upgrade/hooks.js";
import { APT_HOOK, TRIGGER_FLAG, checkBin, DROP_IN, DROP_IN_DIR, ENABLE_LINK, hookFiles, PACKAGED_UNIT_DIR, packagedUnits, PATH_UNIT, SERVICE_UNIT, UNIT_DIR } from "../src/upgrade/hook-files.js";
import { damagePlainFile, hashTree, inRoot, makeRoot, setupLegacy, UPSTREAM_TREES, upgradeUpstream } from "./fixtures/sympl.js";
import { testContext } from "./support/context.js";
import { installedBinary } from "../src/system/launcher.js";
import { BIN, cli } from "./watch-child.js";
import { jsonDocument } from "./support/json-schema.js";

/**
 * A stand-in for the installed binary: the generated files call it exactly
 * as written, and it adds `--root` so the run lands in the fixture tree
 * (the files themselves never name a root).
 */
function wrapper(root: string, dir: string): string {
  const path = join(dir, "makefilecheck");
  writeFileSync(path, `#!/bin/sh\nexec ${process.execPath} ${BIN} "$@" --root ${root}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** A local-mode server, then an upgrade that changed a snippet and replaced the Makefile link by a file. */
function damagedServer(root: string): { rel: string; text: string } {
  for (const app of ["exim4", "dovecot"] as const) setupLegacy(root, app);
  cli(root, ["use", "local", "--no-check"]);
  cli(root, ["sync", "--adopt"]);
  const rel = Object.keys(UPSTREAM_TREES.exim4)[1]!;
  const text = `${UPSTREAM_TREES.exim4[rel]}# changed by the upgrade\n`;
  upgradeUpstream(root, "exim4", { modify: { [rel]: text } });
  damagePlainFile(root, "exim4");
  return { rel, text };
}

function restored(root: string, upgraded: { rel: string; text: string }): void {
  expect(readlinkSync(inRoot(root, "/etc/exim4/GNUmakefile"))).toBe("Makefile.local");
  expect(readFileSync(inRoot(root, `/etc/exim4/sympl-local.d/${upgraded.rel}`), "utf8")).toBe(upgraded.text);
}

/** The Post-Invoke commands apt itself reads from `file`, ours picked by the binary path. */
function aptCommands(file: string, bin: string): string[] {
  const r = spawnSync("apt-config", ["-c", file, "dump", "--format", "%f\t%v%n", "DPkg::Post-Invoke"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`apt-config: ${r.stderr}`);
  return r.stdout
    .split("\n")
    .filter((l) => l.startsWith("DPkg::Post-Invoke::\t") && l.includes(bin))
    .map((l) => l.slice(l.indexOf("\t") + 1));
}

const noApt = existsSync("/usr/bin/apt-config") ? null : "needs apt-config (Debian's apt)";
const noSystemd = existsSync("/usr/bin/systemd-analyze") ? null : "needs systemd-analyze";

describe("hooks", () => {
  let root: string;
  let binDir: string;
  let bin: string;
  beforeEach(() => {
    root = makeRoot();
    binDir = makeRoot();
    bin = wrapper(root, binDir);
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(binDir, { recursive: true, force: true });
  });

  it.skipIf(noApt)("apt: the Post-Invoke line apt reads repairs and syncs, and never fails the apt run", () => {
    const upgraded = damagedServer(root);
    cli(root, ["hooks", "--install", "--only", "apt", "--bin", bin]);
    const [command, ...more] = aptCommands(inRoot(root, APT_HOOK), bin);
    expect(more).toEqual([]);
    const run = () => spawnSync("/bin/sh", ["-c", command!], { encoding: "utf8" });

    const first = run();
    expect(first.status).toBe(0);
    expect(first.stdout + first.stderr).toBe(""); // quiet when all went well
    restored(root, upgraded);

    // A conflict: said on stderr, still exit 0.
    writeFileSync(inRoot(root, `/etc/exim4/sympl-local.d/${upgraded.rel}`), `${upgraded.text}# local\n`);
    upgradeUpstream(root, "exim4", { modify: { [upgraded.rel]: `${upgraded.text}# upstream again\n` } });
    const conflict = run();
    expect(conflict.status).toBe(0);
    // One line naming the file and how to settle it, then the hook's own line.
    expect(conflict.stderr).toMatch(new RegExp(`^exim4: CONFLICT /etc/exim4/sympl-local.d/${upgraded.rel}: .*--keep-local ${upgraded.rel}.*\n.*sync needs attention, run: makefilecheck status\n$`));

    // The binary gone (package removed): nothing runs, apt goes on.
    rmSync(bin);
    const gone = run();
    expect([gone.status, gone.stdout, gone.stderr]).toEqual([0, "", ""]);
  });

  it("systemd: the service's ExecStart lines, run as written, repair and sync", () => {
    const upgraded = damagedServer(root);
    cli(root, ["hooks", "--install", "--only", "systemd", "--bin", bin]);
    const service = readFileSync(inRoot(root, `${UNIT_DIR}/${SERVICE_UNIT}`), "utf8");
    const lines = service.split("\n").filter((l) => l.startsWith("ExecStart="));
    expect(lines).toEqual([`ExecStart=-${bin} repair -q --wait 90`, `ExecStart=${bin} sync -q --wait 90 --make`]);
    for (const l of lines) {
      const [cmd, ...args] = l.slice("ExecStart=".length).replace(/^-/, "").split(" ");
      const r = spawnSync(cmd!, args, { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
    }
    restored(root, upgraded);
    const pathUnit = readFileSync(inRoot(root, `${UNIT_DIR}/${PATH_UNIT}`), "utf8");
    expect(pathUnit).toMatch(/^PathChanged=\/var\/lib\/dpkg\/status$/m);
    expect(readlinkSync(inRoot(root, ENABLE_LINK))).toBe(`${UNIT_DIR}/${PATH_UNIT}`);
  });

  it.skipIf(noSystemd)("systemd-analyze verify accepts the units", () => {
    cli(root, ["hooks", "--install", "--only", "systemd", "--bin", bin]);
    const dir = inRoot(root, UNIT_DIR);
    const r = spawnSync("systemd-analyze", ["verify", `${dir}/${PATH_UNIT}`, `${dir}/${SERVICE_UNIT}`], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/makefilecheck-upgrade/);
  });

  it("--dry-run writes nothing; install is idempotent and installs one trigger; remove takes out what is ours", async () => {
    const before = hashTree(root);
    const dry = await hooks(testContext(root, { dryRun: true }), { _: ["hooks"], install: true, bin });
    // No systemd running under this root: the apt hook alone.
    expect(dry.plan?.filter((op) => op.op === "write").map((op) => ("path" in op ? op.path : ""))).toEqual([APT_HOOK]);
    expect(hashTree(root)).toBe(before);

    const first = await hooks(testContext(root), { _: ["hooks"], install: true, bin });
    expect(first.code).toBe(0);
    const again = await hooks(testContext(root), { _: ["hooks"], install: true, bin });
    expect(again.plan).toEqual([]);
    expect(again.data?.files).toEqual(expect.arrayContaining([expect.objectContaining({ path: APT_HOOK, state: "unchanged" })]));

    // Under the Debian package, its dpkg trigger instead (the consent file), and our apt hook goes.
    for (const unit of packagedUnits(bin)) {
      mkdirSync(dirname(inRoot(root, unit.path)), { recursive: true });
      writeFileSync(inRoot(root, unit.path), unit.text);
    }
    const moved = await hooks(testContext(root), { _: ["hooks"], install: true, bin });
    expect(moved.plan?.map((op) => `${op.op} ${"path" in op ? op.path : ""}`)).toEqual([`mkdir /etc/makefilecheck`, `write ${TRIGGER_FLAG}`, `remove ${APT_HOOK}`]);
    expect(existsSync(inRoot(root, APT_HOOK))).toBe(false);
    expect(existsSync(inRoot(root, ENABLE_LINK))).toBe(false);

    // The systemd path unit only when asked for.
    await hooks(testContext(root), { _: ["hooks"], install: true, only: "systemd", bin });
    expect(readlinkSync(inRoot(root, ENABLE_LINK))).toBe(`${PACKAGED_UNIT_DIR}/${PATH_UNIT}`);

    const removed = await hooks(testContext(root), { _: ["hooks"], remove: true, bin });
    expect(removed.code).toBe(0);
    for (const p of [APT_HOOK, TRIGGER_FLAG, DROP_IN, ENABLE_LINK]) expect(existsSync(inRoot(root, p)), p).toBe(false);
  });

  it("leaves a file it did not write alone, on install and on remove", async () => {
    const foreign = "DPkg::Post-Invoke { \"echo someone else\"; };\n";
    mkdirSync(dirname(inRoot(root, APT_HOOK)), { recursive: true });
    writeFileSync(inRoot(root, APT_HOOK), foreign);
    const before = hashTree(root);
    const install = await hooks(testContext(root), { _: ["hooks"], install: true, bin });
    expect(install.code).toBe(1);
    expect(install.lines.join("\n")).toMatch(/80makefilecheck: NOT OURS/);
    expect(hashTree(root)).toBe(before);

    await hooks(testContext(root), { _: ["hooks"], install: true, only: "systemd", bin });
    const remove = await hooks(testContext(root), { _: ["hooks"], remove: true, bin });
    expect(remove.code).toBe(1);
    expect(readFileSync(inRoot(root, APT_HOOK), "utf8")).toBe(foreign);
    expect(existsSync(inRoot(root, `${UNIT_DIR}/${SERVICE_UNIT}`))).toBe(false);
  });

  it("writes the binary the admin names, with --make unless --no-make, and finds where it is installed", () => {
    const made = jsonDocument(cli(root, ["hooks", "--json", "--bin", "/opt/mfc/bin/makefilecheck"])) as { files: Array<{ path: string; text: string }> };
    const service = made.files.find((f) => f.path.endsWith(SERVICE_UNIT))!.text;
    expect(service).toContain("ExecStart=/opt/mfc/bin/makefilecheck sync -q --wait 90 --make\n");
    expect(made.files.find((f) => f.path === APT_HOOK)!.text).toContain("/opt/mfc/bin/makefilecheck sync -q --wait 90 --make ||");
    const plain = jsonDocument(cli(root, ["hooks", "--json", "--no-make", "--bin", "/opt/mfc/bin/makefilecheck"])) as { files: Array<{ path: string; text: string }> };
    expect(plain.files.find((f) => f.path.endsWith(SERVICE_UNIT))!.text).toContain("ExecStart=/opt/mfc/bin/makefilecheck sync -q --wait 90\n");
    expect(made.files.map((f) => f.text).join("")).not.toContain(root); // never the --root of this run

    expect(installedBinary(bin)).toBe(bin); // binDir is a real directory, not a link
    expect(installedBinary(join(binDir, "missing"))).toBeNull();
  });

  it("under the Debian package: enables the packaged unit, writes only a drop-in, and --remove takes out every trigger", async () => {
    // Units of an install before the package came, then the package's own units.
    await hooks(testContext(root), { _: ["hooks"], install: true, only: "systemd", bin });
    rmSync(inRoot(root, ENABLE_LINK));
    for (const f of packagedUnits(bin)) {
      mkdirSync(dirname(inRoot(root, f.path)), { recursive: true });
      writeFileSync(inRoot(root, f.path), f.text);
    }
    const shipped = hashTree(inRoot(root, PACKAGED_UNIT_DIR));

    const installed = await hooks(testContext(root), { _: ["hooks"], install: true, only: "systemd", make: true, bin });
    expect(installed.code).toBe(0);
    const written = installed.plan?.filter((op) => op.op === "write").map((op) => ("path" in op ? op.path : ""));
    expect(written).toEqual([DROP_IN]);
    expect(readlinkSync(inRoot(root, ENABLE_LINK))).toBe(`${PACKAGED_UNIT_DIR}/${PATH_UNIT}`);
    const dropIn = readFileSync(inRoot(root, DROP_IN), "utf8");
    // An empty ExecStart= first: systemd would otherwise run the packaged commands and ours.
    const execStarts = (text: string) => text.split("\n").filter((l) => l.startsWith("ExecStart="));
    const own = hookFiles({ bin, make: true }, "systemd").find((f) => f.path.endsWith(SERVICE_UNIT))!;
    expect(execStarts(dropIn)).toEqual(["ExecStart=", ...execStarts(own.text)]);
    expect(execStarts(dropIn)[2]).toMatch(/ sync .*--make/);

    const removed = await hooks(testContext(root), { _: ["hooks"], remove: true, bin });
    expect(removed.code).toBe(0);
    for (const p of [DROP_IN, DROP_IN_DIR, ENABLE_LINK, `${UNIT_DIR}/${PATH_UNIT}`, `${UNIT_DIR}/${SERVICE_UNIT}`]) expect(existsSync(inRoot(root, p)), p).toBe(false);
    expect(hashTree(inRoot(root, PACKAGED_UNIT_DIR))).toBe(shipped);
  });

  it.each(["relative/makefilecheck", "/usr/bin/make filecheck", "/usr/bin/$(reboot)", "/opt/%n", "/opt/../bin/x"])("refuses --bin %s", (b) => {
    expect(() => checkBin(b)).toThrow(/not a plain absolute path/);
  });
});
