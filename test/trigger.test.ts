/**
 * `sync --trigger`, as the package's dpkg trigger runs it: inert without the
 * admin's consent or a chosen local tree, the whole job in one run with one
 * summary line otherwise, and root mailed once per problem.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { appPaths } from "../src/server-layout.js";
import { revert } from "../src/makefilecheck/commands.js";
import { sync } from "../src/sync/commands.js";
import { syncOrTrigger } from "../src/upgrade/trigger.js";
import { TRIGGER_FLAG } from "../src/upgrade/hook-files.js";
import { MAILED, MAIL_CONFIG, parseMailSettings } from "../src/upgrade/mail.js";
import { damageDpkgNew, hashTree, inRoot, newerUpstreamMakefile, upgradeUpstream } from "./fixtures/sympl.js";
import { managedTree } from "./support/makefilecheck-trees.js";
import { testContext } from "./support/context.js";
import { withTempRoot } from "./support/temp-root.js";

let root: string;
withTempRoot((r) => (root = r));

const p = appPaths("exim4");
const GENERAL = "00-main/10-general";
const at = (server: string) => inRoot(root, server);
const ctx = () => testContext(root, { apps: ["exim4"] });
const trigger = () => syncOrTrigger(ctx(), { _: [], trigger: true });

let outbox: string | null = null;
afterEach(() => {
  if (outbox) rmSync(outbox, { recursive: true, force: true });
  outbox = null;
});

/** A local tree, its baseline recorded, and the admin's consent (what `hooks --install` writes). */
async function enabledLocalTree(): Promise<void> {
  await managedTree(root, ["exim4"]);
  await sync(ctx(), { _: [], adopt: true });
  mkdirSync(at("/etc/makefilecheck"), { recursive: true });
  writeFileSync(at(TRIGGER_FLAG), "# makefilecheck-hook: test\n");
}

/** Mail goes to a stand-in sendmail that keeps each message in a file: the real one would mail this machine's root. */
function catchMail(): string {
  outbox = mkdtempSync(join(tmpdir(), "mfc-mail-"));
  const script = join(outbox, "sendmail");
  writeFileSync(script, `#!/bin/sh\n[ "$1 $2" = "-t -oi" ] || exit 64\ncat > "${outbox}/msg.$$"\n`);
  chmodSync(script, 0o755);
  writeFileSync(at(MAIL_CONFIG), `# test\nmailto = postmaster@example.org\nsendmail = ${script}\n`);
  return outbox;
}

const mails = (box: string) =>
  readdirOf(box)
    .filter((n) => n.startsWith("msg."))
    .map((n) => readFileSync(join(box, n), "utf8"));
function readdirOf(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

describe("sync --trigger", () => {
  it("does nothing and says nothing without the admin's consent", async () => {
    await managedTree(root, ["exim4"]);
    await sync(ctx(), { _: [], adopt: true });
    upgradeUpstream(root, "exim4", { modify: { [GENERAL]: "# upstream changed it\n" } });
    const before = hashTree(root);
    const result = await trigger();
    expect(result).toMatchObject({ code: 0, lines: [] });
    expect(result.summary).toBeUndefined();
    expect(hashTree(root)).toBe(before);
  });

  it("after revert --force it does nothing and says nothing, even with consent and an upstream change", async () => {
    await enabledLocalTree();
    await revert(ctx(), { _: [], force: true });
    upgradeUpstream(root, "exim4", { modify: { [GENERAL]: "# upstream changed it\n" } });
    const before = hashTree(root);
    const result = await trigger();
    expect(result).toMatchObject({ code: 0, lines: [] });
    expect(result.problems ?? []).toEqual([]);
    expect(hashTree(root)).toBe(before);
  });

  it("takes the earlier layout's Makefile.dpkg-new in: GNUmakefile layout, variants from the new text, one summary line", async () => {
    await enabledLocalTree();
    rmSync(at(p.gnumakefile));
    rmSync(at(p.makefile));
    symlinkSync("Makefile.local", at(p.makefile));
    damageDpkgNew(root, "exim4");
    const result = await trigger();
    expect(lstatSync(at(p.makefile)).isFile()).toBe(true);
    expect(readlinkSync(at(p.gnumakefile))).toBe("Makefile.local");
    expect(readFileSync(at(p.makefileSympl), "utf8")).toBe(newerUpstreamMakefile("exim4"));
    expect(existsSync(at(`${p.makefile}.dpkg-new`))).toBe(false);
    expect(result.summary).toMatch(/^makefilecheck \(package trigger\): exim4: repaired/);
  });
});

describe("mail to root", () => {
  it("a conflict is mailed once, with the line and its fix; a run that finds it settled forgets it", async () => {
    await enabledLocalTree();
    const box = catchMail();
    const local = at(`${p.local}/${GENERAL}`);
    writeFileSync(local, "# the admin's own line\n");
    upgradeUpstream(root, "exim4", { modify: { [GENERAL]: "# upstream's own line\n" } });
    const first = await trigger();
    expect(first.code).toBe(1);
    const sent = mails(box);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/^To: postmaster@example.org\nSubject: makefilecheck on .*: exim4 needs you after a package run\n/);
    expect(sent[0]).toContain(`CONFLICT`);
    expect(sent[0]).toContain("makefilecheck sync");
    expect(first.lines.at(-1)).toBe("mailed postmaster@example.org: 1 problem that needs a person");
    expect(first.summary).toMatch(/exim4: .*1 conflict \(your edit kept, upstream's beside it as \.sympl-new\)$/);
    expect(lstatSync(at(MAILED)).mode & 0o777).toBe(0o600);

    await trigger();
    expect(mails(box)).toHaveLength(1);

    await sync(ctx(), { _: [], "keep-local": [GENERAL] });
    await trigger();
    expect(JSON.parse(readFileSync(at(MAILED), "utf8")).mailed).toEqual([]);
  });

  it("a Sympl package it can see being held back (the Makefile is not dpkg's recorded text, and no such text is here) is mailed with the fix", async () => {
    await enabledLocalTree();
    const box = catchMail();
    const stanza = ["Package: sympl-mail-test", "Status: install ok installed", "Architecture: all", "Version: 1.0", "Maintainer: Test <root@localhost>", "Conffiles:", ` ${p.makefile} 0123456789abcdef0123456789abcdef`, "Description: a Sympl-shaped package", ""];
    mkdirSync(at("/var/lib/dpkg"), { recursive: true });
    writeFileSync(at("/var/lib/dpkg/status"), stanza.join("\n"));
    const result = await trigger();
    expect(result.code).toBe(1);
    const [mail] = mails(box);
    expect(mail).toContain(`exim4: ${p.makefile} is not the text dpkg recorded for sympl-mail-test, so unattended-upgrades holds sympl-mail-test back when a release changes it — run \`makefilecheck repair\`; if it cannot restore it, \`apt-get install --reinstall sympl-mail-test\``);
  });

  it("a run by hand and a --dry-run trigger never mail", async () => {
    await enabledLocalTree();
    const box = catchMail();
    writeFileSync(at(`${p.local}/${GENERAL}`), "# the admin's own line\n");
    upgradeUpstream(root, "exim4", { modify: { [GENERAL]: "# upstream's own line\n" } });
    await syncOrTrigger(testContext(root, { apps: ["exim4"], dryRun: true }), { _: [], trigger: true });
    await sync(ctx(), { _: [] });
    expect(mails(box)).toEqual([]);
  });

  it("reads its settings file, never runs it, and refuses what is not an address", () => {
    expect(parseMailSettings("# c\n\nmailto = off\n")).toMatchObject({ to: null });
    expect(parseMailSettings("mailto = admin@example.org\n")).toMatchObject({ to: "admin@example.org", sendmail: "/usr/sbin/sendmail" });
    expect(() => parseMailSettings("mailto = root; rm -rf /\n")).toThrowError(/line 1: not a `key = value` line/);
    expect(() => parseMailSettings("mailto = $(reboot)\n")).toThrowError(/is not a mail address/);
    expect(() => parseMailSettings("sendmail = ../bin/sh\n")).toThrowError(/not a plain absolute path/);
  });
});
