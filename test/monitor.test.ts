/**
 * The monitoring outputs as Nagios/Icinga and Prometheus read them: the
 * plugin mode's exit code and line for each of the four states and for
 * an overlap (the worst wins), and Debian's own prometheus-node-exporter,
 * started here on 127.0.0.1 with the textfile directory under the test
 * root, serving our metrics with the scenario's values. Through
 * bin/makefilecheck on a tree installed with `install --make` (real make,
 * real exim4 and dovecot config tests); the running daemons are stood in
 * for by a process whose pid is in their pid files.
 */
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { autoinstallDefault } from "./fixtures/autoinstall.js";
import { inRoot, writeSymplTree } from "./fixtures/sympl.js";
import { BINARIES, missingBinaries } from "./support/daemons.js";
import { withTempRoot } from "./support/temp-root.js";
import { jsonDocument } from "./support/json-schema.js";
import { health } from "../src/monitor/health.js";

const BIN = fileURLToPath(new URL("../bin/makefilecheck", import.meta.url));
const TEXTFILE = "/var/lib/prometheus/node-exporter";
const skip = missingBinaries("exim4", "dovecot", "make", "nodeExporter");

let root = "";
withTempRoot((r) => (root = r));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill();
});

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, "--root", root, ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Stands in for the running daemons: a process started after the build, its pid in both pid files. */
function daemonsRunning(): void {
  const stand = spawn("sleep", ["600"], { stdio: "ignore" });
  children.push(stand);
  for (const [dir, file] of [["/run/exim4", "exim.pid"], ["/run/dovecot", "master.pid"]] as const) {
    mkdirSync(inRoot(root, dir), { recursive: true });
    writeFileSync(inRoot(root, `${dir}/${file}`), `${stand.pid}\n`);
  }
}

/** Every change but the two that wait for settings (ports, a firewall database), built in, a trigger, running daemons: all well. */
function healthyServer(): void {
  writeSymplTree(root);
  mkdirSync(inRoot(root, "/etc/makefilecheck"), { recursive: true });
  writeFileSync(inRoot(root, "/etc/makefilecheck/Autoinstall.conf"), autoinstallDefault({ AUTO_CH2: "N", AUTO_CH6: "N" }), { mode: 0o600 });
  expect(cli("install", "--make").code).toBe(0);
  expect(cli("hooks", "--install", "--only", "apt").code).toBe(0);
  daemonsRunning();
}

/** Edits a built-in snippet of dovecot's local tree after the build: the changes are no longer in force. */
function staleDovecot(): void {
  appendFileSync(inRoot(root, "/etc/dovecot/sympl-local.d/10-main/35-log-debug"), "# edited after the build\n");
}

describe.skipIf(skip)("monitor: the plugin mode", () => {
  beforeEach(healthyServer);

  it("OK: exit 0, the one line, perfdata with drift, changes installed and the built config's age", () => {
    const r = cli("monitor");
    expect(r.stdout).toMatch(/^MAKEFILECHECK OK - exim4, dovecot: changes in force, built config current and read by the running daemon \| /);
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    expect(r.stdout).toContain("exim4_changes_installed=10;;;0;12");
    expect(r.stdout).toContain("dovecot_changes_installed=1;;;0;2");
    expect(r.stdout).toContain("exim4_drift_upstream=0;;;0");
    expect(r.stdout).toMatch(/exim4_built_age=\d+s;;;0/);
    expect(r.code).toBe(0);
  });

  it("WARNING: exit 1 when no upgrade trigger is in place, with the reason", () => {
    expect(cli("hooks", "--remove").code).toBe(0);
    const r = cli("monitor");
    expect(r.stdout).toMatch(/^MAKEFILECHECK WARNING - no upgrade trigger \(makefilecheck hooks --install\) \| /);
    expect(r.code).toBe(1);
  });

  it("the package's dpkg trigger, as `hooks --install` sets it up under the package, counts as an upgrade trigger", () => {
    expect(cli("hooks", "--remove").code).toBe(0);
    expect(cli("hooks", "--install", "--only", "dpkg").code).toBe(0);
    expect(existsSync(inRoot(root, "/etc/apt/apt.conf.d/80makefilecheck"))).toBe(false);
    const r = cli("monitor");
    expect(r.stdout).toMatch(/^MAKEFILECHECK OK - /);
    expect(r.code).toBe(0);
  });

  it("CRITICAL: exit 2 when a snippet changed after the build (the changes are not in force)", () => {
    staleDovecot();
    const r = cli("monitor");
    expect(r.stdout).toMatch(/^MAKEFILECHECK CRITICAL - dovecot: changes not in force: built config stale \| /);
    expect(r.code).toBe(2);
  });

  it("UNKNOWN: exit 3 when nothing tells whether the daemon runs", () => {
    rmSync(inRoot(root, "/run/exim4"), { recursive: true });
    const r = cli("monitor");
    expect(r.stdout).toMatch(/^MAKEFILECHECK UNKNOWN - exim4: cannot tell whether the daemon has read the built config \| /);
    expect(r.code).toBe(3);
  });

  it("the worst state wins: a missing trigger and stale changes are CRITICAL, and the line names both, worst first", () => {
    expect(cli("hooks", "--remove").code).toBe(0);
    staleDovecot();
    const r = cli("monitor");
    expect(r.stdout).toMatch(/^MAKEFILECHECK CRITICAL - dovecot: changes not in force: built config stale; no upgrade trigger \(makefilecheck hooks --install\) \| /);
    expect(r.code).toBe(2);
  });

  it("a config test the last run saw refused is CRITICAL, with the daemon's words, until a run succeeds", () => {
    const snippet = inRoot(root, "/etc/exim4/sympl-local.d/00-main/65-no-ident");
    const good = readFileSync(snippet, "utf8");
    writeFileSync(snippet, `${good}no_such_option = 1\n`);
    expect(cli("sync", "--make").code).toBe(1);
    const r = cli("monitor");
    expect(r.stdout).toMatch(/^MAKEFILECHECK CRITICAL - .*last run failed \(sync at [^)]*, exit 1\): exim4: .*no_such_option/);
    expect(r.code).toBe(2);
    writeFileSync(snippet, good);
    expect(cli("sync", "--make").code).toBe(0);
    expect(cli("monitor").stdout).not.toContain("last run failed");
  });
});

/** The value of one sample in /metrics text (node exporter writes large numbers as 1.7e+09). */
function sample(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no sample ${name} in /metrics`);
  return Number(line.slice(name.length + 1));
}

/** A free port on 127.0.0.1 from a range nothing else of ours uses. */
function somePort(): number {
  return 20000 + Math.floor(Math.random() * 20000);
}

/** Starts Debian's node exporter with only the textfile collector; resolves to its /metrics text getter. */
async function nodeExporter(dir: string): Promise<() => Promise<string>> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = somePort();
    const child = spawn(BINARIES.nodeExporter, [`--web.listen-address=127.0.0.1:${port}`, "--collector.disable-defaults", "--collector.textfile", `--collector.textfile.directory=${dir}`], { stdio: "ignore" });
    children.push(child);
    const get = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (let i = 0; i < 50 && child.exitCode === null; i++) {
      try {
        await get();
        return get;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    child.kill();
  }
  throw new Error("prometheus-node-exporter did not start on 127.0.0.1");
}

describe.skipIf(skip)("metrics for Prometheus", () => {
  beforeEach(healthyServer);

  it("a mutating run writes makefilecheck.prom into the textfile directory, and node exporter serves it", async () => {
    mkdirSync(inRoot(root, TEXTFILE), { recursive: true });
    expect(cli("repair").code).toBe(0);
    const metrics = await nodeExporter(inRoot(root, TEXTFILE));
    const text = await metrics();
    expect(text).toContain('makefilecheck_info{version="');
    expect(text).toContain('makefilecheck_in_force{app="exim4"} 1');
    expect(text).toContain('makefilecheck_in_force{app="dovecot"} 1');
    expect(text).toContain('makefilecheck_changes{app="exim4",state="installed"} 10');
    expect(text).toContain('makefilecheck_changes{app="exim4",state="not-installed"} 2');
    const drift = jsonDocument(cli("status", "--json").stdout).apps[0].drift.counts;
    expect(drift["local-added"]).toBeGreaterThan(0);
    for (const [state, n] of Object.entries(drift)) expect(text).toContain(`makefilecheck_drift_files{app="exim4",state="${state}"} ${n}`);
    expect(text).toContain('makefilecheck_conflicts{app="exim4"} 0');
    expect(text).toContain('makefilecheck_last_run_success{command="repair"} 1');
    expect(Math.abs(sample(text, 'makefilecheck_last_run_timestamp_seconds{command="repair"}') - Date.now() / 1000)).toBeLessThan(120);
    expect(sample(text, 'makefilecheck_built_config_age_seconds{app="dovecot"}')).toBeLessThan(120);
    expect(text).toContain("makefilecheck_monitor_state 0");
    // node exporter says when it could not read a file; it read ours.
    expect(text).toContain("node_textfile_scrape_error 0");

    staleDovecot();
    const r = cli("monitor", "--prometheus", TEXTFILE);
    expect(r.code).toBe(2);
    const after = await metrics();
    expect(after).toContain('makefilecheck_in_force{app="dovecot"} 0');
    expect(after).toContain("makefilecheck_monitor_state 2");
  });

  it("monitor --prometheus refuses a directory that is not there, and writes nothing", () => {
    const r = cli("monitor", "--prometheus", TEXTFILE);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${TEXTFILE}: no such directory`);
  });
});

describe("monitor: changes waiting on Sympl, not on the admin", () => {
  it("a daemon Sympl's tree was not written for (dovecot 2.4) is a WARNING with the reason, not changes-not-in-force", () => {
    const misfit = "Sympl's dovecot tree (/etc/dovecot/sympl.d) is written for dovecot 2.3, and this server runs dovecot 2.4.1, which refuses it";
    const dovecot = { app: "dovecot" as const, profile: "vanilla", damage: null, problem: null, drift: null, built: null, misfit };
    const verdict = health({ apps: [{ status: dovecot, changes: [], builtAgeS: null }], trigger: true, lastRun: null });
    expect(verdict.state).toBe("WARNING");
    expect(verdict.line).toMatch(/^MAKEFILECHECK WARNING - dovecot: changes waiting: Sympl's dovecot tree .* written for dovecot 2\.3/);
    expect(verdict.code).toBe(1);
  });
});
