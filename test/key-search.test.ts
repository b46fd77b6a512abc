/**
 * The Spamhaus key is found nowhere it should not be. With a known key,
 * the commands an admin runs (installs from standard input and from
 * settings files, dry runs, --json, -q, refusals of bad settings, status,
 * drift, diff, check, sync after an upgrade, switching trees, an old
 * release's inline key moved out, a key rotated, a run cut short that
 * leaves its journal) are run through bin/makefilecheck on one root, and
 * every output (stdout, stderr: what cron and apt mail) and every file
 * under the root and in TMPDIR is searched for the key, its sha256 (hex
 * and raw) and the key file's sha256. The only places allowed to hold it:
 * /etc/exim4/spamhaus-key (0640), saved copies (0600), and a pending
 * journal's write step of the key file (0600).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { install } from "../src/changes/commands.js";
import { OLD_SPAMHAUS_KEY_SNIPPETS } from "../src/catalogue/snippets.js";
import { keyFileText } from "../src/catalogue/templates.js";
import { RealSystem } from "../src/system/real.js";
import { FaultySystem } from "../src/system/wrappers.js";
import { inRoot, makeRoot, upgradeUpstream, writeSymplTree } from "./fixtures/sympl.js";
import { testContext } from "./support/context.js";
import { jsonDocument } from "./support/json-schema.js";

const BIN = fileURLToPath(new URL("../bin/makefilecheck", import.meta.url));
const KEY = "Tk9SearchMe42Key";
const KEY2 = "Rz3RotatedKey77";
const KEY_FILE = "/etc/exim4/spamhaus-key";
const SAVED = "/var/lib/makefilecheck/saved/";
const JOURNAL = "/var/lib/makefilecheck/journal.json";
const SNIPPET = "/etc/exim4/sympl-local.d/00-main/35-spamhaus-key";
const RCPT_BLACKLISTS = "/etc/exim4/sympl-local.d/10-acl/50-acl-check-rcpt/75-dns-blacklists";
const PORTS = ["--set", "AUTO_IMAP_PORT=1143", "--set", "AUTO_IMAPS_PORT=1993"];

let root = "";
let work = "";
/** What each run printed, under the command (which may carry the key itself: --set is the admin's doing). */
let outputs: Array<{ command: string; out: string }> = [];
beforeEach(() => {
  root = makeRoot();
  writeSymplTree(root);
  writeFileSync(inRoot(root, "/etc/group"), "root:x:0:\nDebian-exim:x:4242:\n");
  work = mkdtempSync(join(tmpdir(), "mfc-keysearch-"));
  mkdirSync(join(work, "tmp"), { mode: 0o700 });
  outputs = [];
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

/** Runs bin/makefilecheck on the root (scratch files in our TMPDIR), keeping its output for the search. */
function cli(args: string[], input?: string): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [BIN, "--root", root, "--no-color", ...args], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, TMPDIR: join(work, "tmp") },
    ...(input === undefined ? {} : { input }),
  });
  const out = `${r.stdout}${r.stderr}`;
  outputs.push({ command: `makefilecheck ${args.join(" ")}`, out });
  return { code: r.status, out };
}

/** A file outside the root (the admin's own), with `text` and `mode`. */
function outside(name: string, text: string, mode = 0o600): string {
  const file = join(work, name);
  writeFileSync(file, text);
  chmodSync(file, mode);
  return file;
}

const sha = (data: string) => createHash("sha256").update(data).digest();

/** What must not appear: the key, and the sha256 (hex, and raw as a cache would store it) of the key and of the key file. */
function needles(key: string): Buffer[] {
  const hashes = [key, `${key}\n`, keyFileText(key)].map(sha);
  return [Buffer.from(key), ...hashes, ...hashes.map((h) => Buffer.from(h.toString("hex")))];
}

/** Every regular file below `dir` (host paths). */
function filesBelow(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const st = lstatSync(path);
    return st.isDirectory() ? filesBelow(path) : st.isFile() ? [path] : [];
  });
}

const modeOf = (host: string) => (lstatSync(host).mode & 0o777).toString(8).padStart(4, "0");

/**
 * Where `keys` turn up that they may not: each output naming the command,
 * each file by its path and mode. A journal may hold a key (in base64)
 * only in the step that writes the key file, and only at 0600.
 */
function leaks(keys: string[]): string[] {
  const found: string[] = [];
  const all = keys.flatMap(needles);
  for (const { command, out } of outputs) if (all.some((n) => Buffer.from(out).includes(n))) found.push(`output of ${command}`);
  for (const host of [...filesBelow(root), ...filesBelow(join(work, "tmp"))]) {
    const server = host.startsWith(root) ? host.slice(root.length) : host;
    const data = readFileSync(host);
    if (server === JOURNAL) {
      const steps = (JSON.parse(data.toString("utf8")) as { ops: Array<{ op: string; path: string; data?: string }> }).ops;
      for (const step of steps) {
        const bytes = Buffer.from(step.data ?? "", "base64");
        if (!all.some((n) => bytes.includes(n))) continue;
        if (step.path !== KEY_FILE || modeOf(host) !== "0600") found.push(`${server} (${modeOf(host)}): its ${step.op} step of ${step.path}`);
      }
      continue;
    }
    if (!all.some((n) => data.includes(n))) continue;
    const allowed = (server === KEY_FILE && modeOf(host) === "0640") || (server.startsWith(SAVED) && modeOf(host) === "0600");
    if (!allowed) found.push(`${server} (${modeOf(host)})`);
  }
  return found;
}

describe("the key is found only where it may be", () => {
  it("after every command an admin runs with a key: installs, dry runs, --json, -q, refusals, reading commands, sync, switches, a rotation", () => {
    const stdin = ["--set-from-file", "AUTO_SPAMHAUS_DB_KEY=-"];
    expect(cli(["install", "--dry-run", "--json", ...PORTS, ...stdin], `${KEY}\n`).code).toBe(0);
    expect(cli(["install", "--dry-run", "--verbose", ...PORTS, ...stdin], `${KEY}\n`).code).toBe(0);
    const first = cli(["install", "--json", ...PORTS, ...stdin], `${KEY}\n`);
    expect(first.code, first.out).toBe(0);
    expect(jsonDocument(first.out).plan).toContainEqual(expect.objectContaining({ op: "write", path: KEY_FILE, secret: true }));
    expect(readFileSync(inRoot(root, KEY_FILE), "utf8")).toContain(`SPAMHAUS_DQ_KEY = ${KEY}`);
    expect(cli(["install", ...PORTS, ...stdin, "--make"], `${KEY}\n`).code).toBe(0);
    expect(leaks([KEY])).toEqual([]);
    // Settings files holding the key: one others may read (a warning), one with a typo, a bad value.
    const loose = outside("loose.conf", `AUTO_IMAP_PORT=1143\nAUTO_IMAPS_PORT=1993\nAUTO_SPAMHAUS_DB_KEY=${KEY}\n`, 0o644);
    expect(cli(["install", "--config", loose]).out).toContain(`chmod 600 ${loose}`);
    for (const typo of [`AUTO_SPAMHAUS_DB_KEY= ${KEY}`, `AUTO_SPAMHAUS_DB_KEY =${KEY}`, `AUTO_SPAMHAUS_DB_KEY="${KEY}`, `AUTO_SPAMHAUS_DB_KEY=${KEY}-x`]) {
      expect(cli(["install", "--config", outside("typo.conf", `AUTO_CH3=Y\n${typo}\n`)]).code).toBe(2);
    }
    expect(cli(["install", "--dry-run", "--set", `AUTO_SPAMHAUS_DB_KEY=${KEY}-x`]).code).toBe(2);
    expect(cli(["install", "--dry-run", ...PORTS, "--set", `AUTO_SPAMHAUS_DB_KEY=${KEY}`]).out).toContain("--set AUTO_SPAMHAUS_DB_KEY: any user can read");
    expect(cli(["install", ...PORTS, "--set-from-file", `AUTO_SPAMHAUS_DB_KEY=${outside("bad.key", `${KEY}\nsecond line\n`)}`]).code).toBe(2);
    // Reading commands, text and --json.
    for (const args of [["status"], ["status", "--json"], ["report"], ["changes", "--json"], ["changes"], ["drift", "--json"], ["check"], ["check", "--json"], ["diff", "00-main/35-spamhaus-key"], ["diff", "--json"]]) cli(args);
    // An upgrade, then sync and the trees switched.
    const general = readFileSync(inRoot(root, "/etc/exim4/sympl.d/00-main/10-general"), "utf8");
    upgradeUpstream(root, "exim4", { modify: { "00-main/10-general": `# newer\n${general}` } });
    for (const args of [["sync", "--dry-run", "--json"], ["sync", "--json", "--make"], ["sync", "-q"], ["use", "sympl", "--json"], ["use", "local", "--json"], ["repair", "-q"]]) cli(args);
    // The key rotated, then emptied.
    expect(cli(["install", ...PORTS, ...stdin], `${KEY2}\n`).code).toBe(0);
    expect(leaks([KEY, KEY2])).toEqual([]);
    expect(cli(["install", "--json", ...PORTS]).code).toBe(0);
    expect(leaks([KEY, KEY2])).toEqual([]);
  });

  it("after an old release's inline key is moved out of 35-spamhaus-key", () => {
    expect(cli(["install", ...PORTS]).code).toBe(0);
    writeFileSync(inRoot(root, SNIPPET), OLD_SPAMHAUS_KEY_SNIPPETS.keyed.replace("@@SPAMHAUS_DQ_KEY@@", KEY));
    chmodSync(inRoot(root, SNIPPET), 0o644);
    expect(cli(["install", "--json", "--only", "ch3", ...PORTS]).code).toBe(0);
    expect(readFileSync(inRoot(root, KEY_FILE), "utf8")).toContain(KEY);
    for (const args of [["status", "--json"], ["drift", "--json"], ["diff", "--json"]]) cli(args);
    expect(readFileSync(inRoot(root, SNIPPET), "utf8")).not.toContain(KEY);
    expect(leaks([KEY])).toEqual([]);
  });

  it("while a run cut short leaves its journal, and after the next run finishes it", async () => {
    const set = ["AUTO_IMAP_PORT=1143", "AUTO_IMAPS_PORT=1993", `AUTO_SPAMHAUS_DB_KEY=${KEY}`];
    // Fail later and later until the key file is written and the journal still pending.
    for (let n = 1; n < 200; n++) {
      const ctx = { ...testContext(root), sys: new FaultySystem(new RealSystem(root), n) };
      const result = await install(ctx, { _: [], set }).catch((err: Error) => err);
      outputs.push({ command: `install failing at write ${n}`, out: `${result instanceof Error ? result.message : JSON.stringify(result)}\n${ctx.notes.join("\n")}` });
      if (lstatSync(inRoot(root, KEY_FILE), { throwIfNoEntry: false }) && lstatSync(inRoot(root, JOURNAL), { throwIfNoEntry: false })) break;
    }
    // The journal is pending with the key file's step, key and all: the search saw it, at 0600.
    const steps = (JSON.parse(readFileSync(inRoot(root, JOURNAL), "utf8")) as { ops: Array<{ path: string; data?: string }> }).ops;
    expect(steps.filter((op) => Buffer.from(op.data ?? "", "base64").includes(KEY)).map((op) => op.path)).toEqual([KEY_FILE]);
    expect(leaks([KEY])).toEqual([]);
    expect(cli(["status", "--json"]).code).not.toBeNull();
    expect(cli(["install", ...PORTS, "--set-from-file", "AUTO_SPAMHAUS_DB_KEY=-"], `${KEY}\n`).code).toBe(0);
    expect(lstatSync(inRoot(root, JOURNAL), { throwIfNoEntry: false })).toBeUndefined();
    expect(leaks([KEY])).toEqual([]);
  });
});

describe("a daemon line that would carry the key", () => {
  // exim prints a refused line with its macros expanded: a typo on the keyed
  // rule shows KEY.zen.dq.spamhaus.net. Here the key is defined inside the
  // tree, as an old release's 35-spamhaus-key did, so that every config
  // test (under --root too) expands it. Every daemon line is masked
  // (maskKey, src/daemon-words.ts).
  it("check, use local and install never relay the key when exim refuses the keyed rule", () => {
    expect(cli(["install", ...PORTS, "--set-from-file", "AUTO_SPAMHAUS_DB_KEY=-"], `${KEY}\n`).code).toBe(0);
    writeFileSync(inRoot(root, SNIPPET), OLD_SPAMHAUS_KEY_SNIPPETS.keyed.replace("@@SPAMHAUS_DQ_KEY@@", KEY));
    const lines = readFileSync(inRoot(root, RCPT_BLACKLISTS), "utf8").split("\n");
    const keyed = lines.findIndex((l) => l.includes(".SPAMHAUS_DQ_KEY.") && l.includes("condition"));
    lines[keyed] = lines[keyed]!.replace("condition", "conditon");
    writeFileSync(inRoot(root, RCPT_BLACKLISTS), lines.join("\n"));
    expect(cli(["check"]).code).not.toBe(0);
    cli(["check", "--json"]);
    cli(["use", "local", "--json"]);
    cli(["use", "local", "-q"]);
    expect(outputs.map((o) => o.out).join("\n")).toContain("conditon");
    expect(leaks([KEY]).filter((l) => l.startsWith("output of"))).toEqual([]);
  });
});
