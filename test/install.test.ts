/**
 * `install` on fixture trees, called as a function: the changes go in, the
 * real daemons accept the result, a second run plans nothing, a dry run
 * writes nothing, switching a change off takes it out again unless the
 * admin edited it, ch6 finds the firewall, and bad selections change nothing.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { changes, install } from "../src/changes/commands.js";
import { SNIPPETS } from "../src/catalogue/snippets.js";
import { InputError } from "../src/errors.js";
import { assembleConfig, daemonAccepts, hashTree, inRoot, makeRoot, writeSymplTree } from "./fixtures/sympl.js";
import { testContext } from "./support/context.js";
import { BINARIES, missingBinaries } from "./support/daemons.js";
import { writeFirewallDb } from "./support/firewall-db.js";

const LOCAL = "/etc/exim4/sympl-local.d";
const CONNECT = `${LOCAL}/10-acl/10-acl-check-connect`;
const PORTS = ["AUTO_IMAP_PORT=1143", "AUTO_IMAPS_PORT=1993"];

let root = "";
beforeEach(() => {
  root = makeRoot();
  writeSymplTree(root);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Runs install as the CLI would, with these --set values; the daemons' config test is on. */
async function run(set: string[], extra: Record<string, unknown> = {}, opts: { dryRun?: boolean } = {}) {
  const ctx = testContext(root, opts);
  const result = await install(ctx, { _: [], set, ...extra });
  return { ...result, notes: ctx.notes };
}

function read(serverPath: string): string {
  return readFileSync(inRoot(root, serverPath), "utf8");
}

function exists(serverPath: string): boolean {
  return existsSync(inRoot(root, serverPath));
}

/** How many log_selector settings a built config has in force. */
function activeLogSelectors(config: string): number {
  return config.split("\n").filter((l) => /^\s*log_selector\s*=/.test(l)).length;
}

async function states(app: "exim4" | "dovecot", set: string[] = []): Promise<Record<string, string>> {
  const result = await changes(testContext(root, { apps: [app] }), { _: [], set });
  const list = (result.apps[0]?.changes ?? []) as Array<{ id: string; state: string }>;
  return Object.fromEntries(list.map((c) => [c.id, c.state]));
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error("expected install to refuse");
}

describe.skipIf(missingBinaries("exim4", "dovecot", "doveconf"))("all default changes, proven by the daemons", () => {
  it("builds a local config that exim4 -bV and dovecot -a accept, and makes it live", async () => {
    const result = await run([...PORTS, "AUTO_CH6_DATABASE=sympl"], { check: true });
    expect(result.code).toBe(0);
    for (const app of ["exim4", "dovecot"] as const) {
      const verdict = daemonAccepts(root, app, "sympl-local.d");
      expect(verdict.ok, verdict.output).toBe(true);
    }
    expect(read("/etc/exim4/Makefile.local")).toContain("sympl-local.d");
    expect(statSync(inRoot(root, "/etc/dovecot/Makefile"), { throwIfNoEntry: true }).isFile()).toBe(true);

    const conf = join(mkdtempSync(join(tmpdir(), "makefilecheck-doveconf-")), "dovecot.conf");
    writeFileSync(conf, assembleConfig(root, "dovecot", "sympl-local.d"));
    const shown = spawnSync(BINARIES.doveconf, ["-n", "-c", conf], { encoding: "utf8" });
    rmSync(join(conf, ".."), { recursive: true, force: true });
    expect(shown.stdout).toMatch(/auth_verbose = yes/);
    expect(shown.stdout).toMatch(/port = 1143/);
    expect(shown.stdout).toMatch(/port = 1993/);
  });

  it("refuses, changing nothing, when the daemon rejects what it would build", async () => {
    mkdirSync(inRoot(root, LOCAL), { recursive: true });
    spawnSync("cp", ["-a", `${inRoot(root, "/etc/exim4/sympl.d")}/.`, inRoot(root, LOCAL)]);
    writeFileSync(inRoot(root, `${LOCAL}/00-main/99-broken`), "this is not exim configuration\n");
    const before = hashTree(root);
    const message = await refusal(run(PORTS, { check: true }));
    expect(message).toContain("rejects the config");
    expect(message).toMatch(/^\/etc\/exim4\/sympl-local\.d: exim4 rejects/);
    expect(hashTree(root)).toBe(before);
  });
});

describe.skipIf(missingBinaries("exim4", "dovecot"))("a tree from an older release (no log_selector, no auth_advertise_hosts)", () => {
  it("installs every change or finds it not needed, exits 0, and exim takes the one log_selector", async () => {
    rmSync(root, { recursive: true, force: true });
    root = makeRoot();
    writeSymplTree(root, { older: true });
    const set = [...PORTS, "AUTO_CH6_DATABASE=sympl", "AUTO_CH11=Y"];
    const result = await run(set);
    expect(result.code, result.lines.join("\n")).toBe(0);
    const all = { ...(await states("exim4", set)), ...(await states("dovecot", set)) };
    expect(Object.entries(all).filter(([, s]) => s !== "installed" && s !== "not-needed")).toEqual([]);
    expect(all).toMatchObject({ ch3: "installed", ch4: "installed", ch11: "not-needed" });
    const config = assembleConfig(root, "exim4", "sympl-local.d");
    expect(activeLogSelectors(config)).toBe(1);
    expect(config).toMatch(/^log_selector = \+smtp_protocol_error \+incoming_interface \+smtp_mailauth$/m);
    expect(daemonAccepts(root, "exim4", "sympl-local.d").ok).toBe(true);
    // That release's Makefile names its test target `check`: make builds and tests the local tree with it.
    const made = spawnSync("make", ["-C", inRoot(root, "/etc/exim4"), "exim4.conf.tmp", "check"], { encoding: "utf8" });
    expect(made.status, made.stderr).toBe(0);
    expect(activeLogSelectors(read("/etc/exim4/exim4.conf.tmp"))).toBe(1);
  });
});

describe("converging", () => {
  it("plans nothing on a second identical run, and says so", async () => {
    await run(PORTS);
    const second = await run(PORTS);
    expect(second.plan).toEqual([]);
    expect(second.lines.join("\n")).toContain("nothing to do");
  });

  it("leaves the tree byte-identical under --dry-run, while showing a plan", async () => {
    const before = hashTree(root);
    const result = await run(PORTS, {}, { dryRun: true });
    expect(result.plan?.length).toBeGreaterThan(10);
    expect(result.lines.join("\n")).toContain("would be installed");
    expect(hashTree(root)).toBe(before);
    const written = (result.plan ?? []).flatMap((op) => (op.op === "write" ? [op.path] : []));
    expect(new Set(written).size).toBe(written.length);
    const tls = (result.plan ?? []).find((op) => op.op === "write" && op.path === `${LOCAL}/00-main/50-tls-options`);
    expect(tls?.op === "write" && tls.data.toString()).toContain("# log_selector = +tls_sni");
  });

  it("takes a change out again when it is switched to N", async () => {
    await run(PORTS);
    const upstreamTls = read("/etc/exim4/sympl.d/00-main/50-tls-options");
    expect(read(`${LOCAL}/00-main/50-tls-options`)).not.toBe(upstreamTls);
    const result = await run([...PORTS, "AUTO_CH7=N", "AUTO_CH3=N", "AUTO_CH10=N"]);
    expect(exists(`${CONNECT}/40-ratelimit`)).toBe(false);
    expect(exists(`${LOCAL}/00-main/25-logging`)).toBe(false);
    expect(read(`${LOCAL}/00-main/50-tls-options`)).toBe(upstreamTls);
    expect(read(`${LOCAL}/10-acl/50-acl-check-rcpt/75-dns-blacklists`)).toBe(read("/etc/exim4/sympl.d/10-acl/50-acl-check-rcpt/75-dns-blacklists"));
    expect(result.lines).toContain("exim4: ch7 removed (rate-limit connections)");
    expect(await states("exim4")).toMatchObject({ ch3: "not-installed", ch7: "not-installed", ch10: "not-installed", ch5: "installed" });
  });

  it("reports a change the admin edited and does not touch it", async () => {
    await run(PORTS);
    const edited = `${read(`${CONNECT}/40-ratelimit`)}  # tuned by the admin\n`;
    writeFileSync(inRoot(root, `${CONNECT}/40-ratelimit`), edited);
    expect((await states("exim4")).ch7).toBe("modified");
    const result = await run([...PORTS, "AUTO_CH7=N"]);
    expect(read(`${CONNECT}/40-ratelimit`)).toBe(edited);
    const line = result.lines.find((l) => l.startsWith("exim4: ch7"));
    expect(result.code).toBe(1);
    expect(line).toContain("left alone");
    expect(line).toContain("40-ratelimit");
  });

  it("owns log_selector whatever upstream's flags, and reports ch11 not needed where upstream has no no_matching_hosts", async () => {
    const upstream = "/etc/exim4/sympl.d/00-main/50-tls-options";
    const text = read(upstream).replace("log_selector = +tls_sni", "log_selector = +tls_sni \\\n  +tls_peerdn").replace("no_matching_hosts", "nobody");
    writeFileSync(inRoot(root, upstream), text);
    const result = await run([...PORTS, "AUTO_CH11=Y"], { only: "ch3,ch11" });
    expect(result.code, result.lines.join("\n")).toBe(0);
    expect(read(`${LOCAL}/00-main/50-tls-options`)).toContain("# log_selector = +tls_sni \\\n#   +tls_peerdn\n");
    expect(read(`${LOCAL}/00-main/25-logging`)).toMatch(/^log_selector = \+tls_sni \+tls_peerdn \+smtp_protocol_error \+incoming_interface \+smtp_mailauth$/m);
    expect(await states("exim4")).toMatchObject({ ch3: "installed", ch11: "not-needed" });
    expect(activeLogSelectors(assembleConfig(root, "exim4", "sympl-local.d"))).toBe(1);
  });

  it("reports a line of ours the admin rewrote, leaves it, and exits 1", async () => {
    await run([...PORTS, "AUTO_CH11=Y"], { only: "ch11" });
    const local = `${LOCAL}/00-main/50-tls-options`;
    const rewritten = read(local).replace(/^auth_advertise_hosts = .*$/m, "auth_advertise_hosts = *");
    writeFileSync(inRoot(root, local), rewritten);
    const result = await run([...PORTS, "AUTO_CH11=N"], { only: "ch11" });
    expect(result.code).toBe(1);
    expect(result.lines.find((l) => l.startsWith("exim4: ch11"))).toContain("left alone");
    expect(read(local)).toBe(rewritten);
    expect((await states("exim4")).ch11).toBe("modified");
  });

  it("updates a file it wrote when a setting changes", async () => {
    await run(PORTS);
    await run([...PORTS, 'DNSBL_CHECK_IN_CONNECT=spamcop']);
    expect(read(`${LOCAL}/00-main/22-dns-check-in-connect`)).toMatch(/^DNSBL_CHECK_IN_CONNECT = spamcop$/m);
    expect((await states("exim4")).ch13).toBe("installed");
  });

  it("tells a change with a part missing (once `partial`) from an installed one", async () => {
    await run(PORTS);
    rmSync(inRoot(root, `${CONNECT}/20-accept-known`));
    expect(await states("exim4")).toMatchObject({ ch5: "not-installed", ch4: "installed", ch11: "not-installed" });
    expect(await states("dovecot")).toMatchObject({ ch1: "installed", ch2: "installed" });
  });

  it("installs only what --only names, leaving the rest as it is", async () => {
    await run([], { only: "ch3,ch4" });
    expect(await states("exim4")).toMatchObject({ ch3: "installed", ch4: "installed", ch5: "not-installed", ch13: "not-installed" });
    expect(await states("dovecot")).toMatchObject({ ch1: "not-installed" });
  });

  it("leaves changes outside --only alone, whatever the settings say of them", async () => {
    await run(PORTS);
    await run([...PORTS, "AUTO_CH7=N"], { only: "ch3" });
    expect(exists(`${CONNECT}/40-ratelimit`)).toBe(true);
  });

  it("gives new files the owner of /etc/APP and mode 0644", async () => {
    chownSync(inRoot(root, "/etc/exim4"), 4321, 4322);
    await run([], { only: "ch5,ch7" });
    for (const file of [`${CONNECT}/40-ratelimit`, `${LOCAL}/00-main/21-connect-check`]) {
      const st = statSync(inRoot(root, file));
      expect([st.uid, st.gid, st.mode & 0o777]).toEqual([4321, 4322, 0o644]);
    }
  });
});

describe("ch6 finds the firewall and writes the server's own path", () => {
  const cases: Array<[string, () => void, RegExp, string]> = [
    ["nftfw config in /etc", () => mkdirSync(inRoot(root, "/etc/nftfw"), { recursive: true }), /^NFTFW_DB = \/var\/lib\/nftfw\/firewall\.db$/m, "found /etc/nftfw"],
    [
      "nftfw database under /usr/local",
      () => writeFirewallDb(inRoot(root, "/usr/local/var/lib/nftfw/firewall.db"), "nftfw", []),
      /^NFTFW_DB = \/usr\/local\/var\/lib\/nftfw\/firewall\.db$/m,
      "found /usr/local/var/lib/nftfw/firewall.db",
    ],
    [
      "the Sympl database",
      () => writeFirewallDb(inRoot(root, "/var/lib/sympl/firewall-blacklist-count.db"), "sympl", []),
      /^SYMPL_DB = \/var\/lib\/sympl\/firewall-blacklist-count\.db$/m,
      "found /var/lib/sympl",
    ],
  ];
  it.each(cases)("%s", async (_name, arrange, define, said) => {
    arrange();
    const result = await run([]);
    const text = read(`${LOCAL}/00-main/21-connect-check`);
    expect(text).toMatch(define);
    expect(text).toMatch(/_INCIDENT_THRESHOLD = 10$/m);
    expect(text).not.toContain(root);
    expect(result.notes.join("\n")).toContain(said);
    expect(result.apps[0]?.firewall).toMatchObject({ how: expect.stringContaining(said.replace("found ", "")) });
    expect((await states("exim4")).ch6).toBe("installed");
  });

  it("skips ch6 with a message when no firewall is found", async () => {
    const result = await run([]);
    const line = result.lines.find((l) => l.startsWith("exim4: ch6"));
    expect(line).toContain("waiting");
    expect(line).toContain("AUTO_CH6_DATABASE");
    expect(read(`${LOCAL}/00-main/21-connect-check`)).not.toMatch(/_DB = /);
    expect(exists(`${CONNECT}/30-firewall-history`)).toBe(false);
  });

  it("removes its defines again and keeps ch5's file when switched off", async () => {
    await run(["AUTO_CH6_DATABASE=nftfw"]);
    expect(read(`${LOCAL}/00-main/21-connect-check`)).toContain("NFTFW_DB");
    await run(["AUTO_CH6=N"]);
    expect(read(`${LOCAL}/00-main/21-connect-check`)).not.toContain("NFTFW");
    // The settings file still says Y and no firewall database is found: ch6 waits.
    expect(await states("exim4")).toMatchObject({ ch5: "installed", ch6: "waiting" });
  });
});

describe("ch6 waits for a firewall database exim cannot use", () => {
  const DB = "/var/lib/nftfw/firewall.db";
  const cases: Array<[string, () => void, string]> = [
    ["a directory", () => mkdirSync(inRoot(root, DB), { recursive: true }), "is a directory"],
    ["random bytes", () => writeFixture(DB, randomBytes(4096)), "file is not a database"],
    ["an empty file (no table)", () => writeFixture(DB, ""), "no such table: blacklist"],
    ["Sympl's shape where nftfw's is expected", () => writeFirewallDb(inRoot(root, DB), "sympl", []), "no such column: matchcount"],
    ["unreadable by Debian-exim", () => (writeFirewallDb(inRoot(root, DB), "nftfw", []), chmodSync(inRoot(root, DB), 0o600)), "unable to open database file"],
    [
      "a link to another file",
      () => {
        writeFixture("/etc/other.conf", "not a database\n");
        mkdirSync(inRoot(root, "/var/lib/nftfw"), { recursive: true });
        symlinkSync("/etc/other.conf", inRoot(root, DB));
      },
      "a link to /etc/other.conf",
    ],
  ];
  it.each(cases)("%s: nothing of ch6 is written; install and changes say waiting, with the reason", async (_name, arrange, reason) => {
    arrange();
    const result = await run([...PORTS, "AUTO_CH6_DATABASE=nftfw"]);
    const line = result.lines.find((l) => l.startsWith("exim4: ch6")) ?? "";
    expect(line).toContain("exim4: ch6 waiting");
    expect(line).toContain(reason);
    expect(line).toContain("exim would defer every connection (451)");
    expect(read(`${LOCAL}/00-main/21-connect-check`)).not.toMatch(/_DB = /);
    expect(exists(`${CONNECT}/30-firewall-history`)).toBe(false);
    const table = await changes(testContext(root, { apps: ["exim4"] }), { _: [], set: [] });
    const ch6 = (table.apps[0]?.changes as Array<{ id: string; state: string; waiting?: string }>).find((c) => c.id === "ch6");
    expect(ch6?.state).toBe("waiting");
    expect(ch6?.waiting).toContain(reason);
  });

  it("installs ch6 on a usable database, also through a link that stays inside the root", async () => {
    writeFirewallDb(inRoot(root, "/srv/firewall/history.db"), "nftfw", [{ ip: "45.67.89.11", count: 11 }]);
    mkdirSync(inRoot(root, "/var/lib/nftfw"), { recursive: true });
    symlinkSync("/srv/firewall/history.db", inRoot(root, DB));
    const result = await run([...PORTS, "AUTO_CH6_DATABASE=nftfw"]);
    expect(result.lines.find((l) => l.startsWith("exim4: ch6"))).toContain("exim4: ch6 installed");
    expect(read(`${LOCAL}/00-main/21-connect-check`)).toMatch(/^NFTFW_DB = \/var\/lib\/nftfw\/firewall\.db$/m);
  });

  it("changes names the problem, exit 1, when the database of an installed ch6 breaks later", async () => {
    writeFirewallDb(inRoot(root, DB), "nftfw", []);
    await run([...PORTS, "AUTO_CH6_DATABASE=nftfw"]);
    writeFixture(DB, randomBytes(4096));
    const table = await changes(testContext(root, { apps: ["exim4"] }), { _: [], set: [] });
    const ch6 = (table.apps[0]?.changes as Array<{ id: string; state: string; problem?: string }>).find((c) => c.id === "ch6");
    expect(ch6).toMatchObject({ state: "installed", problem: expect.stringContaining("file is not a database") });
    expect(table.lines).toContain(`        problem: ${ch6?.problem}`);
    expect(table.code).toBe(1);
  });

  /** Writes `data` at a server path of the root, making its parents. */
  function writeFixture(server: string, data: string | Buffer): void {
    mkdirSync(dirname(inRoot(root, server)), { recursive: true });
    writeFileSync(inRoot(root, server), data);
  }
});

describe("settings that shape what is written", () => {
  it("skips ch2 without both ports, naming the two settings", async () => {
    const result = await run(["AUTO_IMAP_PORT=1143"]);
    const line = result.lines.find((l) => l.startsWith("dovecot: ch2")) ?? "";
    expect(line).toContain("waiting");
    expect(line).toContain("AUTO_IMAP_PORT");
    expect(line).toContain("AUTO_IMAPS_PORT");
    expect(exists("/etc/dovecot/sympl-local.d/10-main/15-imap-ports")).toBe(false);
  });

  it("writes the Spamhaus key file only when a key is set; the snippet only includes it", async () => {
    await run([]);
    expect(read(`${LOCAL}/00-main/35-spamhaus-key`)).toBe(SNIPPETS["00-main/35-spamhaus-key"]!.text);
    expect(exists("/etc/exim4/spamhaus-key")).toBe(false);
    await run(["AUTO_SPAMHAUS_DB_KEY=abc123"]);
    expect(read(`${LOCAL}/00-main/35-spamhaus-key`)).toBe(SNIPPETS["00-main/35-spamhaus-key"]!.text);
    expect(read("/etc/exim4/spamhaus-key")).toMatch(/^SPAMHAUS_DQ_KEY = abc123$/m);
  });
});

describe("refusals change nothing", () => {
  const cases: Array<[string, string[], Record<string, unknown>, string]> = [
    ["ch6 without ch5", ["AUTO_CH5=N", "AUTO_CH6_DATABASE=sympl"], {}, "ch6 needs ch5"],
    ["a keyed ch13 without ch10", ["AUTO_CH10=N", "AUTO_SPAMHAUS_DB_KEY=abc123"], {}, "ch13 needs ch10"],
    ["an unknown change in --only", [], { only: "ch3,ch15" }, "ch15"],
    ["--only a change without what it needs", [], { only: "ch7" }, "with --only, name ch5 too"],
  ];
  it.each(cases)("%s", async (_name, set, extra, said) => {
    const before = hashTree(root);
    expect(await refusal(run(set, extra))).toContain(said);
    expect(hashTree(root)).toBe(before);
  });
});

describe("install --init", () => {
  it("writes a commented settings file once, then refuses to overwrite it", async () => {
    await run([], { init: true });
    const text = read("/etc/makefilecheck/Autoinstall.conf");
    // Only root may read it: the admin puts the Spamhaus key in it.
    expect(statSync(inRoot(root, "/etc/makefilecheck/Autoinstall.conf")).mode & 0o777).toBe(0o600);
    expect(text).toMatch(/^AUTO_CH11=N$/m);
    expect(text).toMatch(/^# ch6 /m);
    await refusal(run([], { init: true }));
  });

  it("reads the written file on the next run", async () => {
    await run([], { init: true });
    const file = inRoot(root, "/etc/makefilecheck/Autoinstall.conf");
    writeFileSync(file, readFileSync(file, "utf8").replace("AUTO_CH7=Y", "AUTO_CH7=N"));
    chmodSync(file, 0o644);
    await run([]);
    expect(exists(`${CONNECT}/40-ratelimit`)).toBe(false);
    expect(exists(`${CONNECT}/20-accept-known`)).toBe(true);
  });
});
