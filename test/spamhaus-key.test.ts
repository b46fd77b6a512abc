/**
 * The Spamhaus key stays private (ch10): install keeps it in its own file
 * outside the trees (0640 root:Debian-exim) which 35-spamhaus-key only
 * includes; no other file under the root holds it, not even the built
 * config; a second run changes nothing; the key file goes when no key is
 * wanted (only if it is ours); what an earlier release left readable by
 * others is moved or tightened, and the run says so (human and --json);
 * diff masks a key an old tree still holds; sync cannot bring it back.
 */
import { chmodSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { install } from "../src/changes/commands.js";
import { OLD_SPAMHAUS_KEY_SNIPPETS, SNIPPETS } from "../src/catalogue/snippets.js";
import { diff, sync } from "../src/sync/commands.js";
import { inRoot, upgradeUpstream, writeSymplTree } from "./fixtures/sympl.js";
import { testContext } from "./support/context.js";
import { withTempRoot } from "./support/temp-root.js";

let root = "";
withTempRoot((r) => {
  root = r;
  writeSymplTree(r);
});

const KEY = "Qz7SecretKeyForTests";
const KEY_FILE = "/etc/exim4/spamhaus-key";
const SNIPPET = "/etc/exim4/sympl-local.d/00-main/35-spamhaus-key";
const PORTS = ["AUTO_IMAP_PORT=1143", "AUTO_IMAPS_PORT=1993"];
/** The gid the fixture's /etc/group gives Debian-exim (any number will do: the file is read, never resolved). */
const EXIM_GID = 4242;

const at = (server: string) => inRoot(root, server);
const read = (server: string) => readFileSync(at(server), "utf8");

/** The root's /etc/group, with or without exim's group. */
function writeGroups(withExim: boolean): void {
  writeFileSync(at("/etc/group"), `root:x:0:\nmail:x:8:\n${withExim ? `Debian-exim:x:${EXIM_GID}:\n` : ""}`);
}

async function run(set: string[], extra: Record<string, unknown> = {}, opts: { dryRun?: boolean } = {}) {
  const ctx = testContext(root, { ...opts, apps: ["exim4"] });
  return install(ctx, { _: [], set: [...PORTS, ...set], check: true, ...extra });
}

/** Mode and owner of a server path, as `0640 0:4242`. */
function modeOf(server: string): string {
  const st = statSync(at(server));
  return `${(st.mode & 0o7777).toString(8).padStart(4, "0")} ${st.uid}:${st.gid}`;
}

/** Every file under the root (server paths) whose bytes hold `text`. */
function filesHolding(text: string): string[] {
  const out: string[] = [];
  const visit = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = lstatSync(path);
      if (st.isDirectory()) visit(path);
      else if (st.isFile() && readFileSync(path).includes(text)) out.push(path.slice(root.length));
    }
  };
  visit(root);
  return out.sort();
}

/** The exim4 report's key lines, as --json gives them. */
function keyReport(result: { apps: Array<Record<string, unknown>> }): string[] {
  return (result.apps.find((a) => a.app === "exim4")?.spamhausKey as string[] | undefined) ?? [];
}

/** Puts back what the previous release wrote at 35-spamhaus-key: the key inline, mode 0644. */
function plantInlineKey(key: string): void {
  writeFileSync(at(SNIPPET), OLD_SPAMHAUS_KEY_SNIPPETS.keyed.replace("@@SPAMHAUS_DQ_KEY@@", key));
  chmodSync(at(SNIPPET), 0o644);
}

describe("the key file", () => {
  it("holds the key, 0640 root:Debian-exim; no other file under the root, the built config included, holds it", async () => {
    writeGroups(true);
    const result = await run([`AUTO_SPAMHAUS_DB_KEY=${KEY}`], { make: true });
    expect(result.code).toBe(0);
    expect(read(KEY_FILE)).toMatch(new RegExp(`^SPAMHAUS_DQ_KEY = ${KEY}$`, "m"));
    expect(modeOf(KEY_FILE)).toBe(`0640 0:${EXIM_GID}`);
    expect(read(SNIPPET)).toBe(SNIPPETS["00-main/35-spamhaus-key"]!.text);
    expect(read("/etc/exim4/exim4.conf")).toContain(".include_if_exists ETC_DIR/exim4/spamhaus-key");
    expect(filesHolding(KEY)).toEqual([KEY_FILE]);
    expect(JSON.stringify(result)).not.toContain(KEY);
  });

  it("a second install changes nothing", async () => {
    writeGroups(true);
    await run([`AUTO_SPAMHAUS_DB_KEY=${KEY}`]);
    const again = await run([`AUTO_SPAMHAUS_DB_KEY=${KEY}`]);
    expect(again.plan).toEqual([]);
    expect(again.lines).toContain("nothing to do: the selected changes are in place and sympl-local.d is live");
  });

  it("without a Debian-exim group takes /etc/exim4's group, still 0640", async () => {
    await run([`AUTO_SPAMHAUS_DB_KEY=${KEY}`]);
    const etc = statSync(at("/etc/exim4"));
    expect(modeOf(KEY_FILE)).toBe(`0640 0:${etc.gid}`);
  });

  it("follows the key: replaced when it changes, removed when it is emptied or ch10 is switched off", async () => {
    await run([`AUTO_SPAMHAUS_DB_KEY=${KEY}`]);
    await run(["AUTO_SPAMHAUS_DB_KEY=Other1"]);
    expect(read(KEY_FILE)).toMatch(/^SPAMHAUS_DQ_KEY = Other1$/m);
    const emptied = await run([]);
    expect(filesHolding("SPAMHAUS_DQ_KEY = ")).toEqual([]);
    expect(emptied.lines).toContain(`exim4: removed ${KEY_FILE}: AUTO_SPAMHAUS_DB_KEY is empty`);
    await run([`AUTO_SPAMHAUS_DB_KEY=${KEY}`]);
    await run(["AUTO_CH10=N", "AUTO_CH13=N"]);
    expect(filesHolding(KEY)).toEqual([]);
  });

  it("leaves a key file that is not ours alone when no key is wanted", async () => {
    writeFileSync(at(KEY_FILE), "SPAMHAUS_DQ_KEY = hand1\n", { mode: 0o640 });
    await run([]);
    expect(read(KEY_FILE)).toBe("SPAMHAUS_DQ_KEY = hand1\n");
  });

  it("refuses, before writing anything, when a directory stands where the key file goes", async () => {
    mkdirSync(at(KEY_FILE));
    await expect(run([`AUTO_SPAMHAUS_DB_KEY=${KEY}`])).rejects.toThrow(`${KEY_FILE}: is a directory, where install keeps the Spamhaus key — move it away, then run install again`);
    expect(readdirSync(at("/etc/exim4"))).not.toContain("sympl-local.d");
  });

  it("a dry run writes nothing and says what it would do", async () => {
    await run([`AUTO_SPAMHAUS_DB_KEY=${KEY}`]);
    plantInlineKey(KEY);
    chmodSync(at(KEY_FILE), 0o644);
    const result = await run([`AUTO_SPAMHAUS_DB_KEY=${KEY}`], {}, { dryRun: true });
    expect(modeOf(KEY_FILE)).toMatch(/^0644 /);
    expect(read(SNIPPET)).toContain(`SPAMHAUS_DQ_KEY = ${KEY}`);
    expect(result.lines).toContain(`exim4: would move the Spamhaus key out of ${SNIPPET} into ${KEY_FILE}`);
    expect(result.lines).toContain(`exim4: would tighten ${KEY_FILE} from 0644 to 0640: it is readable beyond root and exim`);
  });
});

describe("what an earlier release left readable by others", () => {
  it("moves a key 35-spamhaus-key holds inline to the key file, and says so", async () => {
    await run([`AUTO_SPAMHAUS_DB_KEY=${KEY}`]);
    plantInlineKey(KEY);
    const result = await run([`AUTO_SPAMHAUS_DB_KEY=${KEY}`]);
    const line = `moved the Spamhaus key out of ${SNIPPET} into ${KEY_FILE}`;
    expect(result.lines).toContain(`exim4: ${line}`);
    expect(keyReport(result)).toEqual([line]);
    expect(read(SNIPPET)).toBe(SNIPPETS["00-main/35-spamhaus-key"]!.text);
    expect(filesHolding(KEY)).toEqual([KEY_FILE]);
  });

  it("moves it in a run that leaves ch10 out (--only), with the key the snippet held", async () => {
    await run([]);
    plantInlineKey("Old9Key");
    const result = await run([], { only: "ch3" });
    expect(keyReport(result)).toEqual([`moved the Spamhaus key out of ${SNIPPET} into ${KEY_FILE}`]);
    expect(read(KEY_FILE)).toMatch(/^SPAMHAUS_DQ_KEY = Old9Key$/m);
    expect(modeOf(KEY_FILE)).toMatch(/^0640 0:/);
    expect(filesHolding("Old9Key")).toEqual([KEY_FILE]);
  });

  it("tightens a key file others may read to 0640, and says so", async () => {
    await run([`AUTO_SPAMHAUS_DB_KEY=${KEY}`]);
    chmodSync(at(KEY_FILE), 0o644);
    const result = await run([`AUTO_SPAMHAUS_DB_KEY=${KEY}`]);
    expect(modeOf(KEY_FILE)).toMatch(/^0640 /);
    const line = `tightened ${KEY_FILE}: it was 0644, readable beyond root and exim; now 0640`;
    expect(result.lines).toContain(`exim4: ${line}`);
    expect(keyReport(result)).toEqual([line]);
    // Also in a run that leaves ch10 out.
    chmodSync(at(KEY_FILE), 0o604);
    await run([], { only: "ch3" });
    expect(modeOf(KEY_FILE)).toMatch(/^0640 /);
  });

  it("tightens a key file its group may write (0660) to 0640: only exim's group reads it", async () => {
    await run([`AUTO_SPAMHAUS_DB_KEY=${KEY}`]);
    chmodSync(at(KEY_FILE), 0o660);
    const result = await run([`AUTO_SPAMHAUS_DB_KEY=${KEY}`]);
    expect(modeOf(KEY_FILE)).toMatch(/^0640 /);
    const said = keyReport(result);
    expect(said).toHaveLength(1);
    expect(said[0]).toContain(`tightened ${KEY_FILE}: it was 0660`);
  });

  it("tightens saved copies holding the key to 0600, and says so; other saved copies keep their mode", async () => {
    await run([]);
    const dir = at("/var/lib/makefilecheck/saved/exim4/2026-01-02T03-04-05Z/00-main");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "35-spamhaus-key"), OLD_SPAMHAUS_KEY_SNIPPETS.keyed.replace("@@SPAMHAUS_DQ_KEY@@", KEY), { mode: 0o644 });
    writeFileSync(join(dir, "10-general"), "never_users = root\n", { mode: 0o644 });
    const result = await run([], { only: "ch3" });
    const saved = "/var/lib/makefilecheck/saved/exim4/2026-01-02T03-04-05Z/00-main";
    expect(modeOf(`${saved}/35-spamhaus-key`)).toMatch(/^0600 /);
    expect(modeOf(`${saved}/10-general`)).toMatch(/^0644 /);
    const line = "tightened 1 saved copy holding the Spamhaus key to 0600 in /var/lib/makefilecheck/saved/exim4: 2026-01-02T03-04-05Z/00-main/35-spamhaus-key";
    expect(result.lines).toContain(`exim4: ${line}`);
    expect(keyReport(result)).toEqual([line]);
  });

  it("tightens built configs still holding the key to 0640, and says so; a clean one keeps its mode", async () => {
    await run([]);
    const old = `# an earlier build\n${OLD_SPAMHAUS_KEY_SNIPPETS.keyed.replace("@@SPAMHAUS_DQ_KEY@@", KEY)}`;
    writeFileSync(at("/etc/exim4/exim4.conf"), old, { mode: 0o644 });
    writeFileSync(at("/etc/exim4/exim4.conf~"), old, { mode: 0o644 });
    writeFileSync(at("/etc/exim4/exim4.conf.tmp"), "# no key here\n", { mode: 0o644 });
    const result = await run([], { only: "ch3" });
    expect(modeOf("/etc/exim4/exim4.conf")).toMatch(/^0640 /);
    expect(modeOf("/etc/exim4/exim4.conf~")).toMatch(/^0640 /);
    expect(modeOf("/etc/exim4/exim4.conf.tmp")).toMatch(/^0644 /);
    const line = "tightened /etc/exim4/exim4.conf, /etc/exim4/exim4.conf~ to 0640 (built by an earlier release, holding the Spamhaus key; `make` in /etc/exim4 builds it without)";
    expect(result.lines).toContain(`exim4: ${line}`);
    expect(keyReport(result)).toEqual([line]);
  });
});

describe("other commands and the key", () => {
  it("diff masks a key an old tree still holds inline, in text and --json", async () => {
    await run([]);
    plantInlineKey(KEY);
    const result = await diff(testContext(root, { apps: ["exim4"] }), { _: [], path: "00-main/35-spamhaus-key" });
    const shown = JSON.stringify(result.apps) + result.lines.join("\n");
    expect(shown).toContain("SPAMHAUS_DQ_KEY = ********");
    expect(shown).not.toContain(KEY);
  });

  it("sync after an upgrade keeps the include and brings no key into the tree", async () => {
    await run([`AUTO_SPAMHAUS_DB_KEY=${KEY}`]);
    const before = `${read(KEY_FILE)} ${modeOf(KEY_FILE)}`;
    upgradeUpstream(root, "exim4", { add: { "00-main/35-spamhaus-key": "SPAMHAUS_DQ_KEY = Upstream1\n" }, modify: { "00-main/10-general": "never_users = root\n# upstream\n" } });
    await sync(testContext(root, { apps: ["exim4"] }), { _: [] });
    expect(read(SNIPPET)).toBe(SNIPPETS["00-main/35-spamhaus-key"]!.text);
    expect(`${read(KEY_FILE)} ${modeOf(KEY_FILE)}`).toBe(before);
    expect(filesHolding(KEY)).toEqual([KEY_FILE]);
  });
});
