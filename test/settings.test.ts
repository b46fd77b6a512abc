/**
 * The settings file is the old installer's shell format, read as text.
 * Tables of good files and bad values; an old installer's file works
 * unchanged; shell in the file is never run.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EnvironmentError, InputError } from "../src/errors.js";
import type { Reader } from "../src/system/system.js";
import { DEFAULT_SETTINGS_PATH, SETTINGS_MAX_BYTES, defaultSettingsText, parseSettings, readFileSettings, readSettingsFile } from "../src/changes/settings.js";
import { RealSystem } from "../src/system/real.js";
import { autoinstallDefault } from "./fixtures/autoinstall.js";
import { makeRoot } from "./fixtures/sympl.js";
import { serverPath } from "../src/paths.js";

const FILE = "/etc/makefilecheck/Autoinstall.conf";

function parse(text: string, sets: string[] = []) {
  const warnings: string[] = [];
  const settings = parseSettings(text, FILE, sets, (w) => warnings.push(w));
  return { settings, warnings };
}

function refusal(text: string, sets: string[] = []): string {
  try {
    parse(text, sets);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error("expected the settings to be refused");
}

/** A file as the old shell installer's users have it. */
const OLD_INSTALLER_FILE = `# Autoinstall.conf - settings for Install.sh
# Y to install, N to skip
AUTO_VERSION=3

AUTO_CH1=Y
AUTO_CH2=N
AUTO_CH3=Y
AUTO_CH4='Y'
AUTO_CH5="Y"
export AUTO_CH6=Y
AUTO_CH7=N   # too strict for us
AUTO_CH8=Y
AUTO_CH9=N
AUTO_CH10=Y
AUTO_CH11=N
AUTO_CH12=Y
AUTO_CH13=Y
AUTO_CH14=N
AUTO_IMAP_PORT=
AUTO_IMAPS_PORT=
AUTO_CH6_DATABASE=nftfw
AUTO_SPAMHAUS_DB_KEY=abc123XYZ
DNSBL_CHECK_IN_CONNECT="spamhaus : barracuda"
`;

describe("reading the old installer's file", () => {
  it("takes every switch and value as the old installer meant it", () => {
    const { settings, warnings } = parse(OLD_INSTALLER_FILE);
    expect(warnings).toEqual([]);
    expect(settings.enabled).toMatchObject({ ch1: true, ch2: false, ch4: true, ch5: true, ch6: true, ch7: false, ch9: false, ch14: false });
    expect(settings.database).toBe("nftfw");
    expect(settings.spamhausKey).toBe("abc123XYZ");
    expect(settings.dnsblInConnect).toEqual(["spamhaus", "barracuda"]);
    expect(settings.imapPort).toBeUndefined();
  });

  it("gives an unmentioned change its default (all on but ch11)", () => {
    const { settings } = parse("AUTO_CH3=N\n");
    expect(settings.enabled.ch3).toBe(false);
    expect(settings.enabled.ch5).toBe(true);
    expect(settings.enabled.ch11).toBe(false);
    expect(settings.dnsblInConnect).toEqual(["spamhaus", "spamcop", "barracuda"]);
  });

  it("lets --set override the file", () => {
    const { settings } = parse("AUTO_CH3=N\nAUTO_IMAP_PORT=1143\n", ["AUTO_CH3=Y", "AUTO_IMAP_PORT=2143"]);
    expect(settings.enabled.ch3).toBe(true);
    expect(settings.imapPort).toBe(2143);
  });

  it("reads back the file install --init writes, with the defaults", () => {
    const { settings, warnings } = parse(defaultSettingsText());
    expect(warnings).toEqual([]);
    expect(settings.enabled.ch11).toBe(false);
    expect(settings.enabled.ch13).toBe(true);
    expect(settings.dnsblInConnect).toEqual(["spamhaus", "spamcop", "barracuda"]);
  });

  it("warns about an unknown key and goes on", () => {
    const { settings, warnings } = parse("AUTO_CH3=N\nAUTO_CH99=Y\nAUTO_COLOUR=blue\n");
    expect(settings.enabled.ch3).toBe(false);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain("AUTO_CH99");
    expect(warnings[0]).toContain(FILE);
  });
});

describe("the old installer's own default file", () => {
  it("reads unchanged: #!/bin/sh, comments, empty values and the closing export line", () => {
    const { settings, warnings } = parse(autoinstallDefault());
    expect(warnings).toEqual([]);
    expect(settings.enabled).toMatchObject({ ch1: true, ch2: true, ch3: true, ch11: false, ch14: true });
    expect(settings.imapPort).toBeUndefined();
    expect(settings.database).toBeUndefined();
    expect(settings.spamhausKey).toBeUndefined();
    expect(settings.dnsblInConnect).toEqual(["spamhaus", "spamcop", "barracuda"]);
  });

  it("reads the same with CRLF line ends", () => {
    const text = autoinstallDefault({ AUTO_IMAP_PORT: "1143", AUTO_IMAPS_PORT: '"1993"', AUTO_CH7: "N" });
    expect(parse(text.replace(/\n/g, "\r\n")).settings).toEqual(parse(text).settings);
    expect(parse(text).settings).toMatchObject({ imapPort: 1143, imapsPort: 1993 });
  });

  it("reads the shell's quoting: escapes, adjacent quotes, a value over two lines refused", () => {
    expect(parse(`DNSBL_CHECK_IN_CONNECT='spam'"haus : "spamcop\n`).settings.dnsblInConnect).toEqual(["spamhaus", "spamcop"]);
    expect(parse("AUTO_CH3=\\Y\n").settings.enabled.ch3).toBe(true);
    expect(parse("export AUTO_CH3=N AUTO_CH4=N\n").settings.enabled).toMatchObject({ ch3: false, ch4: false });
    expect(refusal("DNSBL_CHECK_IN_CONNECT='spamhaus\n: spamcop'\n")).toContain("line 1");
  });

  it("escapes control characters of the file in its messages", () => {
    const value = refusal("AUTO_CH6_DATABASE=\x1b[31mx\n");
    expect(value).toContain("AUTO_CH6_DATABASE=\\x1b[31mx");
    expect(value).not.toMatch(/[\u0000-\u001f]/);
    const word = refusal("AUTO_CH3=Y\nrm\x07 -rf\n");
    expect(word).toContain("line 2: the line starts with a word that is not NAME=value");
    expect(word).not.toMatch(/[\u0000-\u001f]/);
    expect(refusal("echo \x1b]0;owned\x07\n")).not.toMatch(/[\u0000-\u001f]/);
  });
});

describe("bad values: refused with the setting and the file named", () => {
  const cases: Array<[string, string, string[]]> = [
    ["port 0", "AUTO_IMAP_PORT=0\n", ["AUTO_IMAP_PORT=0", "1 to 65535"]],
    ["port too large", "AUTO_IMAPS_PORT=70000\n", ["AUTO_IMAPS_PORT=70000"]],
    ["port not a number", "AUTO_IMAP_PORT=1o43\n", ["AUTO_IMAP_PORT"]],
    ["port of the standard imap listener", "AUTO_IMAP_PORT=143\n", ["AUTO_IMAP_PORT=143", "already listens"]],
    ["port of the standard imaps listener", "AUTO_IMAPS_PORT=993\n", ["AUTO_IMAPS_PORT=993"]],
    ["the two ports equal", "AUTO_IMAP_PORT=1143\nAUTO_IMAPS_PORT=1143\n", ["same port"]],
    ["key with a dash", "AUTO_SPAMHAUS_DB_KEY=abc-123\n", ["AUTO_SPAMHAUS_DB_KEY", "letters and digits"]],
    ["unknown database", "AUTO_CH6_DATABASE=iptables\n", ["AUTO_CH6_DATABASE=iptables", "sympl, symbiosis, nftfw"]],
    ["unknown blacklist", 'DNSBL_CHECK_IN_CONNECT="spamhaus : sorbs"\n', ["DNSBL_CHECK_IN_CONNECT", "sorbs"]],
    ["yes for Y", "AUTO_CH3=yes\n", ["AUTO_CH3=yes", "Y (install) or N"]],
    ["lower-case y", "AUTO_CH3=y\n", ["AUTO_CH3=y", "Y (install) or N"]],
    ["empty switch", "AUTO_CH3=\n", ["AUTO_CH3="]],
    ["unknown version", "AUTO_VERSION=2\n", ["AUTO_VERSION=2", "version 3"]],
    ["command substitution", "AUTO_CH6_DATABASE=$(touch /tmp/x)\n", ["line 1", "`$` expands"]],
    ["a variable", "AUTO_CH3=$YES\n", ["line 1", "`$` expands"]],
    ["a variable in double quotes", 'AUTO_CH6_DATABASE="${DB}"\n', ["inside double quotes"]],
    ["a command after the setting", "AUTO_CH3=Y; rm -rf /\n", ["`;` ends a command"]],
    ["a pipe", "AUTO_CH3=Y | sh\n", ["`|` pipes"]],
    ["a redirection", "AUTO_CH3=Y >/etc/passwd\n", ["`>` redirects"]],
    ["a background job", "AUTO_CH3=Y &\n", ["`&` runs"]],
    ["a subshell", "(AUTO_CH3=Y)\n", ["`(` starts a subshell"]],
    ["a bare word", "AUTO_CH3=Y\nsource /etc/other.conf\n", ["line 2", "a shell would run it as a command"]],
    ["a quoted name is no assignment", '"AUTO_CH3"=Y\n', ["would run it as a command"]],
    ["a command run with a setting", "AUTO_CH3=Y make\n", ["a word after the setting would run as a command"]],
    ["export of something else", "export AUTO_CH3 -p\n", ["a word after `export` does not name a setting"]],
    ["export alone", "export\n", ["lists the environment"]],
    ["a home directory", "AUTO_CH6_DATABASE=~/db\n", ["`~` expands"]],
    ["a comment glued to a value is part of it", "AUTO_CH3=Y#on\n", ["AUTO_CH3=Y#on", "Y (install) or N"]],
    ["backticks", "AUTO_IMAP_PORT=`id -u`\n", ["line 1", "backtick runs"]],
    ["newline in a quoted value", 'DNSBL_CHECK_IN_CONNECT="spamhaus\nspamcop"\n', ["DNSBL_CHECK_IN_CONNECT", "newline"]],
    ["a bare command line", "AUTO_CH3=Y\nrm -rf /\n", ["line 2", "would run it as a command"]],
    ["unquoted value with spaces", "DNSBL_CHECK_IN_CONNECT=spamhaus : spamcop\n", ["quoted"]],
    ["unterminated quote", 'AUTO_CH3="Y\n', ["never closed"]],
  ];
  it.each(cases)("%s", (_name, text, expected) => {
    const message = refusal(text);
    expect(message).toContain(FILE);
    for (const part of expected) expect(message).toContain(part);
    expect(message).not.toContain("\n");
  });

  it("names --set when the bad value came from the command line", () => {
    expect(refusal("", ["AUTO_IMAP_PORT=99999"])).toContain("--set: AUTO_IMAP_PORT=99999");
    expect(refusal("", ["AUTO_CH33=Y"])).toContain("unknown setting");
    expect(refusal("", ["AUTO_CH3"])).toContain("KEY=VALUE");
  });

  it("never shows the Spamhaus key in a message", () => {
    expect(refusal("AUTO_SPAMHAUS_DB_KEY=secret$(x)\n")).not.toContain("secret");
  });
});

describe("the file is never run", () => {
  const marker = join(tmpdir(), `makefilecheck-pwned-${process.pid}`);
  afterEach(() => rmSync(marker, { force: true }));

  it("leaves shell lines and substitutions unexecuted", () => {
    const lines = [`$(touch ${marker})`, `\`touch ${marker}\``, `AUTO_CH3=$(touch ${marker})`, `touch ${marker}`, `AUTO_X=\`touch ${marker}\``];
    for (const line of lines) {
      try {
        parse(`${line}\n`);
      } catch {
        // refusing is fine; running is not
      }
    }
    expect(existsSync(marker)).toBe(false);
  });
});

describe("reading the file from disk", () => {
  let root = "";
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const opts = (mustExist: boolean) => ({ mustExist, sets: [], warn: () => {} });

  it("gives defaults when the default file is missing", () => {
    root = makeRoot();
    const s = readSettingsFile(new RealSystem(root), DEFAULT_SETTINGS_PATH, DEFAULT_SETTINGS_PATH, opts(false));
    expect(s.enabled.ch5).toBe(true);
  });

  it("refuses a given file that is missing or a directory", () => {
    root = makeRoot();
    mkdirSync(join(root, "conf.d"));
    const sys = new RealSystem(root);
    expect(() => readSettingsFile(sys, serverPath("/nope"), "/nope", opts(true))).toThrow(/no such settings file/);
    expect(() => readSettingsFile(sys, serverPath("/conf.d"), "/conf.d", opts(true))).toThrow(/is a directory/);
  });

  it("refuses a file it cannot read, as bad input", () => {
    const denied = {
      readSmallFile: () => {
        throw new EnvironmentError("/x.conf: permission denied");
      },
    } as unknown as Reader;
    expect(() => readSettingsFile(denied, serverPath("/x.conf"), "/x.conf", opts(true))).toThrow(InputError);
    expect(() => readSettingsFile(denied, serverPath("/x.conf"), "/x.conf", opts(true))).toThrow(/unreadable/);
  });

  it("reads a file under the root", () => {
    root = makeRoot();
    mkdirSync(join(root, "etc/makefilecheck"), { recursive: true });
    writeFileSync(join(root, "etc/makefilecheck/Autoinstall.conf"), OLD_INSTALLER_FILE);
    const s = readSettingsFile(new RealSystem(root), DEFAULT_SETTINGS_PATH, DEFAULT_SETTINGS_PATH, opts(false));
    expect(s.enabled.ch2).toBe(false);
    expect(s.database).toBe("nftfw");
  });
});

describe("the Spamhaus key in a settings typo", () => {
  const KEY = "Zq9TypoKey";
  it.each([
    ["a blank after =", `AUTO_CH3=Y\nAUTO_SPAMHAUS_DB_KEY= ${KEY}\n`],
    ["a blank before =", `AUTO_CH3=Y\nAUTO_SPAMHAUS_DB_KEY =${KEY}\n`],
    ["blanks around =", `AUTO_CH3=Y\nAUTO_SPAMHAUS_DB_KEY = ${KEY}\n`],
    ["a misspelt name", `AUTO_CH3=Y\nAUTO_SPAMHAUS_KEY= ${KEY}\n`],
    ["a quote left open", `AUTO_CH3=Y\nAUTO_SPAMHAUS_DB_KEY='${KEY}\n`],
    ["a bad character", `AUTO_CH3=Y\nAUTO_SPAMHAUS_DB_KEY=${KEY};\n`],
  ])("%s: the line is named, the key is not shown", (_name, text) => {
    const message = refusal(text);
    expect(message).toContain(`${FILE} line 2`);
    expect(message).not.toContain(KEY);
  });
});

describe("only a small regular file is read, never through a link", () => {
  let root = "";
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const SHADOW_LINE = "root:$y$j9T$Hx3NotARealHash:19700:0:99999:7:::";

  /** The root with the default settings file's directory, and a file of a different kind (shadow-like) in it. */
  function setUp(): RealSystem {
    root = makeRoot();
    mkdirSync(join(root, "etc/makefilecheck"), { recursive: true });
    writeFileSync(join(root, "etc/shadow"), `${SHADOW_LINE}\n`, { mode: 0o600 });
    return new RealSystem(root);
  }
  const thrown = (read: () => unknown): string => {
    try {
      read();
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      return (err as Error).message;
    }
    throw new Error("expected a refusal");
  };
  const opts = (mustExist: boolean) => ({ mustExist, sets: [], warn: () => {} });

  it("refuses a settings file that is a symlink, quoting nothing of its target", () => {
    const sys = setUp();
    symlinkSync("../shadow", join(root, "etc/makefilecheck/Autoinstall.conf"));
    const message = thrown(() => readSettingsFile(sys, DEFAULT_SETTINGS_PATH, DEFAULT_SETTINGS_PATH, opts(false)));
    expect(message).toBe(`${DEFAULT_SETTINGS_PATH}: is a symlink: it is read only as itself, never through a link — give the file the link points to, or put that file in the link's place`);
  });

  it("quotes nothing of a file that does not read as settings", () => {
    const sys = setUp();
    const message = thrown(() => readSettingsFile(sys, serverPath("/etc/shadow"), "/etc/shadow", opts(true)));
    expect(message).toContain("/etc/shadow line 1: `$` expands");
    for (const part of SHADOW_LINE.split(/[:$]/).filter((p) => p.length > 2)) expect(message).not.toContain(part);
  });

  it("refuses a FIFO at once, as --config or as the default file, instead of waiting for a writer", () => {
    const sys = setUp();
    execFileSync("mkfifo", [join(root, "etc/makefilecheck/Autoinstall.conf")]);
    const started = Date.now();
    expect(thrown(() => readSettingsFile(sys, DEFAULT_SETTINGS_PATH, DEFAULT_SETTINGS_PATH, opts(false)))).toContain("is not a regular file (a FIFO, a device or a socket)");
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("refuses /dev/zero and a file larger than the cap, saying the cap", () => {
    const host = new RealSystem("/");
    expect(thrown(() => readSettingsFile(host, serverPath("/dev/zero"), "/dev/zero", opts(true)))).toContain("/dev/zero: is not a regular file");
    const sys = setUp();
    writeFileSync(join(root, "etc/makefilecheck/Autoinstall.conf"), `# ${"x".repeat(SETTINGS_MAX_BYTES)}\n`);
    expect(thrown(() => readSettingsFile(sys, DEFAULT_SETTINGS_PATH, DEFAULT_SETTINGS_PATH, opts(false)))).toContain("holds more than 64 KiB");
  });
});

describe("a settings file holding the key that others may read", () => {
  let root = "";
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const EXIM_GID = 4242;

  /** The warnings a read of the default file gives, written with `text` and `mode` (and group `gid`). */
  function warningsFor(text: string, mode: number, gid = 0): string[] {
    root = makeRoot();
    mkdirSync(join(root, "etc/makefilecheck"), { recursive: true });
    writeFileSync(join(root, "etc/group"), `root:x:0:\nDebian-exim:x:${EXIM_GID}:\n`);
    const file = join(root, "etc/makefilecheck/Autoinstall.conf");
    writeFileSync(file, text);
    chmodSync(file, mode);
    chownSync(file, 0, gid);
    const warnings: string[] = [];
    readSettingsFile(new RealSystem(root), DEFAULT_SETTINGS_PATH, DEFAULT_SETTINGS_PATH, { mustExist: false, sets: [], warn: (w) => warnings.push(w) });
    return warnings;
  }
  const KEYED = "AUTO_SPAMHAUS_DB_KEY=abc123XYZ\n";

  it("warns with the fix when every user may read it, and goes on", () => {
    expect(warningsFor(KEYED, 0o644)).toEqual([
      `${DEFAULT_SETTINGS_PATH}: holds AUTO_SPAMHAUS_DB_KEY and every user may read it (mode 0644) — chmod 600 ${DEFAULT_SETTINGS_PATH}`,
    ]);
  });

  it("warns when a group other than root's and exim's may read it", () => {
    expect(warningsFor(KEYED, 0o640, 1234)).toEqual([expect.stringContaining("the users of group 1234 may read it (mode 0640) — chmod 600")]);
  });

  it("says nothing for 0600, for 0640 to root's or exim's group, or for a file without a key", () => {
    expect(warningsFor(KEYED, 0o600)).toEqual([]);
    expect(warningsFor(KEYED, 0o640, 0)).toEqual([]);
    expect(warningsFor(KEYED, 0o640, EXIM_GID)).toEqual([]);
    expect(warningsFor("AUTO_SPAMHAUS_DB_KEY=\nAUTO_CH3=Y\n", 0o644)).toEqual([]);
  });
});

describe("--set-from-file NAME=PATH", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const KEY = "Kx4FromFile";
  const host = new RealSystem("/");
  const sources = (stdin: string | null = null) => ({
    file: (path: string) => host.readSmallFile(serverPath(path), SETTINGS_MAX_BYTES),
    stdin: () => (stdin === null ? null : Buffer.from(stdin)),
  });
  const refused = (specs: string[], stdin: string | null = null): string => {
    try {
      parseSettings("", FILE, [], () => {}, readFileSettings(specs, sources(stdin)));
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      return (err as Error).message;
    }
    throw new Error("expected a refusal");
  };

  it("takes the value from a file or from standard input, without its last line end, over the file and --set", () => {
    dir = mkdtempSync(join(tmpdir(), "mfc-setfile-"));
    writeFileSync(join(dir, "key"), `${KEY}\n`, { mode: 0o600 });
    const fromFile = readFileSettings([`AUTO_SPAMHAUS_DB_KEY=${join(dir, "key")}`], sources());
    expect(parseSettings("AUTO_SPAMHAUS_DB_KEY=Old1\n", FILE, [], () => {}, fromFile).spamhausKey).toBe(KEY);
    expect(parseSettings("", FILE, [], () => {}, readFileSettings(["AUTO_SPAMHAUS_DB_KEY=-"], sources(`${KEY}\r\n`))).spamhausKey).toBe(KEY);
  });

  it("refuses `-` twice, a link, a missing file, an unknown name and a bad value, never showing the key", () => {
    dir = mkdtempSync(join(tmpdir(), "mfc-setfile-"));
    writeFileSync(join(dir, "key"), `${KEY}-with-a-dash\n`);
    symlinkSync(join(dir, "key"), join(dir, "link"));
    expect(refused(["AUTO_CH3=-", "AUTO_CH4=-"], "Y")).toContain("standard input is given twice");
    expect(refused([`AUTO_SPAMHAUS_DB_KEY=${join(dir, "link")}`])).toContain("is a symlink");
    expect(refused([`AUTO_SPAMHAUS_DB_KEY=${join(dir, "none")}`])).toContain("no such file");
    expect(refused(["AUTO_SPAMHAUS_KEY=-"], KEY)).toContain("unknown setting");
    expect(refused(["AUTO_SPAMHAUS_DB_KEY"])).toContain("expected NAME=PATH");
    const bad = refused([`AUTO_SPAMHAUS_DB_KEY=${join(dir, "key")}`]);
    expect(bad).toContain("letters and digits only");
    expect(bad).not.toContain(KEY);
    expect(refused(["AUTO_SPAMHAUS_DB_KEY=-"], null)).toContain("holds more than 64 KiB");
  });

  it("warns that a key given with --set is readable by any user, and names the way to pass it", () => {
    const { warnings } = parse("", [`AUTO_SPAMHAUS_DB_KEY=${KEY}`]);
    expect(warnings).toEqual([expect.stringContaining("--set AUTO_SPAMHAUS_DB_KEY: any user can read a command line (/proc/PID/cmdline)")]);
    expect(warnings[0]).toContain("--set-from-file AUTO_SPAMHAUS_DB_KEY=FILE");
    expect(warnings[0]).not.toContain(KEY);
  });
});
