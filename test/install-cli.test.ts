/**
 * `install` and `changes` through bin/makefilecheck, as an admin runs them
 * (needs `npm run build`, which `npm test` does first): bad input is one
 * line and exit 2 with the tree unchanged, a settings file is never run,
 * the old installer's file works, and `changes --json` has its contract shape.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { autoinstallDefault } from "./fixtures/autoinstall.js";
import { hashTree, inRoot, makeRoot, writeSymplTree } from "./fixtures/sympl.js";
import { jsonDocument } from "./support/json-schema.js";

const BIN = fileURLToPath(new URL("../bin/makefilecheck", import.meta.url));

let root = "";
let outside = "";
beforeEach(() => {
  root = makeRoot();
  outside = makeRoot();
  writeSymplTree(root);
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

function cliWith(input: string | undefined, ...args: string[]) {
  // The timeout turns a hang (a FIFO read that waits for a writer) into a failure.
  const r = spawnSync(process.execPath, [BIN, "--root", root, ...args], { encoding: "utf8", timeout: 30_000, ...(input === undefined ? {} : { input }) });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function cli(...args: string[]) {
  return cliWith(undefined, ...args);
}

describe("bad input: exit 2, one line, nothing changed", () => {
  const cases: Array<[string, () => string[], string[]]> = [
    ["a port out of range", () => ["--set", "AUTO_IMAP_PORT=70000"], ["AUTO_IMAP_PORT=70000", "--set"]],
    ["a Y/N typo in the file", () => [`--config=${settingsFile("AUTO_CH3=yes\n")}`], ["AUTO_CH3=yes", "Autoinstall.conf line 1"]],
    ["an unknown database", () => [`--config=${settingsFile("AUTO_CH6_DATABASE=ufw\n")}`], ["AUTO_CH6_DATABASE=ufw"]],
    ["an unknown version", () => [`--config=${settingsFile("AUTO_VERSION=4\n")}`], ["AUTO_VERSION=4"]],
    ["a config that is a directory", () => [`--config=${outside}`], [outside, "is a directory"]],
    ["a config that is missing", () => [`--config=${join(outside, "nope.conf")}`], ["no such settings file"]],
    ["an unknown change in --only", () => ["--only", "ch3,ch99"], ["ch99"]],
    ["an empty --only", () => ["--only", ""], ["--only"]],
    ["an --only list of commas", () => ["--only", " , "], ["names no change"]],
    ["a settings line a shell would run", () => [`--config=${settingsFile("AUTO_CH3=Y\nAUTO_CH4=N; reboot\n")}`], ["line 2", "`;` ends a command"]],
    ["a config that is a FIFO (no writer: reading it would wait for ever)", () => [`--config=${fifo()}`], ["is not a regular file (a FIFO, a device or a socket)"]],
    ["a config that is /dev/zero (reading it would never end)", () => ["--config=/dev/zero"], ["/dev/zero: is not a regular file"]],
    ["a config that is a symlink to a file that is not settings", () => [`--config=${linkTo("/etc/shadow")}`], ["is a symlink", "never through a link"]],
    ["a config larger than a settings file", () => [`--config=${settingsFile(`# ${"x".repeat(70_000)}\n`)}`], ["holds more than 64 KiB"]],
  ];
  it.each(cases)("%s", (_name, args, said) => {
    const before = hashTree(root);
    const r = cli("install", ...args());
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    for (const part of said) expect(lines[0]).toContain(part);
    expect(hashTree(root)).toBe(before);
  });
});

/** A FIFO nobody writes to, as a settings file. */
function fifo(): string {
  const file = join(outside, "Autoinstall.fifo");
  spawnSync("mkfifo", [file]);
  return file;
}

/** A symlink to `target`, as a settings file. */
function linkTo(target: string): string {
  const file = join(outside, "Autoinstall.link");
  symlinkSync(target, file);
  return file;
}

function settingsFile(text: string): string {
  const file = join(outside, "Autoinstall.conf");
  writeFileSync(file, text);
  return file;
}

describe("the default settings file as something else than a regular file", () => {
  it.each([
    ["a FIFO", (file: string) => spawnSync("mkfifo", [file]), "is not a regular file (a FIFO, a device or a socket)"],
    ["a link to /etc/shadow", (file: string) => symlinkSync("/etc/shadow", file), "is a symlink"],
  ])("%s: exit 2 at once, one line, nothing quoted", (_name, make, said) => {
    mkdirSync(inRoot(root, "/etc/makefilecheck"), { recursive: true });
    make(inRoot(root, "/etc/makefilecheck/Autoinstall.conf"));
    const r = cli("install");
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringContaining(`/etc/makefilecheck/Autoinstall.conf: ${said}`)]);
    expect(existsSync(inRoot(root, "/etc/exim4/sympl-local.d"))).toBe(false);
  });
});

describe("the settings file is never run", () => {
  it("refuses shell lines without running them", () => {
    const marker = join(outside, "pwned");
    const before = hashTree(root);
    for (const text of [`AUTO_CH3=Y\n$(touch ${marker})\n`, `rm -rf ${join(outside, "victim")}\n`, `AUTO_CH6_DATABASE=\`touch ${marker}\`\n`]) {
      mkdirSync(join(outside, "victim"), { recursive: true });
      const r = cli("install", `--config=${settingsFile(text)}`);
      expect(r.code).toBe(2);
      expect(existsSync(join(outside, "victim"))).toBe(true);
    }
    expect(existsSync(marker)).toBe(false);
    expect(hashTree(root)).toBe(before);
  });
});

describe("an old installer's settings file", () => {
  it("works unchanged, export line and all: install exits 0, ch2 waits for its ports", () => {
    const r = cli("install", `--config=${settingsFile(autoinstallDefault())}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/dovecot: ch2 .*AUTO_IMAP_PORT and AUTO_IMAPS_PORT/);
    expect(existsSync(inRoot(root, "/etc/exim4/sympl-local.d/00-main/25-logging"))).toBe(true);
  });

  it("installs what it says, warns about keys it does not know", () => {
    const file = settingsFile(
      [
        "# written for Install.sh",
        "AUTO_VERSION=3",
        "export AUTO_CH1=Y",
        "AUTO_CH2=N",
        "AUTO_CH7='N'",
        'AUTO_CH13="Y"',
        "AUTO_CH6_DATABASE=sympl",
        'DNSBL_CHECK_IN_CONNECT="spamhaus : spamcop"',
        "AUTO_MAILNAME=mail.example.com",
        "",
      ].join("\n"),
    );
    const r = cli("install", `--config=${file}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("AUTO_MAILNAME");
    const json = cli("changes", "--json");
    const doc = jsonDocument(json.stdout) as { apps: Array<{ app: string; changes: Array<{ id: string; state: string }> }> };
    expect(doc.apps.map((a) => a.app)).toEqual(["exim4", "dovecot"]);
    const exim = Object.fromEntries(doc.apps[0]!.changes.map((c) => [c.id, c.state]));
    expect(exim).toMatchObject({ ch6: "installed", ch7: "not-installed", ch11: "not-installed", ch13: "installed" });
    expect(Object.keys(doc.apps[0]!.changes[0]!).sort()).toEqual(["id", "inForce", "state"]);
    expect(existsSync(inRoot(root, "/etc/exim4/sympl-local.d/00-main/22-dns-check-in-connect"))).toBe(true);
  });
});

describe("a tree without log_selector and auth_advertise_hosts (an older release)", () => {
  it("install exits 0 and changes --json shows every change installed or not-needed", () => {
    rmSync(join(root, "etc"), { recursive: true, force: true });
    writeSymplTree(root, { older: true });
    const set = ["--set", "AUTO_IMAP_PORT=1143", "--set", "AUTO_IMAPS_PORT=1993", "--set", "AUTO_CH6_DATABASE=sympl", "--set", "AUTO_CH11=Y"];
    const r = cli("install", ...set);
    expect(r.code, r.stderr).toBe(0);
    const doc = jsonDocument(cli("changes", "--json").stdout) as { apps: Array<{ changes: Array<{ id: string; state: string }> }> };
    const states = doc.apps.flatMap((a) => a.changes);
    expect(states).toHaveLength(14);
    expect(states.filter((c) => c.state !== "installed" && c.state !== "not-needed")).toEqual([]);
    expect(states.find((c) => c.id === "ch11")?.state).toBe("not-needed");
  });
});

describe("changes, human output", () => {
  it("shows a row per change with its state, title and setting", () => {
    cli("install", "--only", "ch3");
    const r = cli("changes", "-a", "exim4");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ {2}ch3 +installed +- +log protocol errors.* AUTO_CH3=Y$/m);
    expect(r.stdout).toMatch(/^ {2}ch11 +not-installed +- +.* AUTO_CH11=N$/m);
    expect(r.stdout).toMatch(/^ {2}ch13 +not-installed +- +DNS blacklists at connect +AUTO_CH13=Y, DNSBL_CHECK_IN_CONNECT/m);
  });
});

describe("the Spamhaus key off the command line", () => {
  const KEY = "Wv8FromStdin";
  it("--set-from-file AUTO_SPAMHAUS_DB_KEY=- reads it from standard input into the key file", () => {
    const r = cliWith(`${KEY}\n`, "install", "-a", "exim4", "--only", "ch10", "--set-from-file", "AUTO_SPAMHAUS_DB_KEY=-");
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(inRoot(root, "/etc/exim4/spamhaus-key"), "utf8")).toContain(`SPAMHAUS_DQ_KEY = ${KEY}`);
    expect(`${r.stdout}${r.stderr}`).not.toContain(KEY);
  });

  it("--help says how to pass the key", () => {
    const help = cli("install", "--help").stdout.replace(/\s+/g, " ");
    expect(help).toContain("--set-from-file NAME=PATH");
    expect(help).toContain("`-` for standard input: how to pass AUTO_SPAMHAUS_DB_KEY");
    expect(help).toContain("the key goes in the settings file (mode 0600) or through --set-from-file");
  });
});
