/**
 * The install settings, in the old installer's Autoinstall.conf format: a
 * `#!/bin/sh` file of KEY=VALUE lines, read as a shell would read that
 * subset (shell-subset.ts) and never run;
 * every value that can reach an exim or dovecot file is checked against a
 * strict grammar here, before anything is planned.
 */
import { InputError, problem } from "../errors.js";
import type { Reader, SmallFile } from "../system/system.js";
import { EXIM_GROUP } from "../server-layout.js";
import { groupId } from "./key-file.js";
import { CATALOGUE, CHANGE_IDS, switchKey } from "../catalogue/catalogue.js";
import type { ChangeId } from "../catalogue/catalogue.js";
import { ShellSubsetError, escapeControls, readShellAssignments } from "./shell-subset.js";
import { serverPath } from "../paths.js";
import type { ServerPath } from "../paths.js";

/** Where install looks for its settings (a server path, under --root). */
export const DEFAULT_SETTINGS_PATH = serverPath("/etc/makefilecheck/Autoinstall.conf");

/** The settings-file format this tool reads (the old installer's third). */
const SETTINGS_VERSION = "3";

/** The firewalls whose database ch6 can read. */
export const FIREWALLS = ["sympl", "symbiosis", "nftfw"] as const;
export type Firewall = (typeof FIREWALLS)[number];

/** The DNS blacklists ch13 can query at connect time. */
export const DNSBLS = ["spamhaus", "spamcop", "barracuda"] as const;
export type Dnsbl = (typeof DNSBLS)[number];

/** The listeners dovecot already has; ch2's extra ports must differ from them. */
const STANDARD_IMAP_PORTS = [143, 993] as const;

/** The parsed, checked settings. */
export interface Settings {
  /** Y (true) or N per change; the catalogue default where the file is silent. */
  enabled: Record<ChangeId, boolean>;
  imapPort?: number;
  imapsPort?: number;
  /** Undefined: detect the firewall. */
  database?: Firewall;
  /** Never printed: it is the admin's secret. */
  spamhausKey?: string;
  dnsblInConnect: Dnsbl[];
  /** Where they came from, for messages. */
  source: string;
}

/** One KEY=VALUE as read, with where it was read for messages. */
interface RawSetting {
  key: string;
  value: string;
  where: string;
}

const SWITCH_KEYS = new Map<string, ChangeId>(CHANGE_IDS.map((id) => [switchKey(id), id]));
const VALUE_KEYS = new Set([
  "AUTO_IMAP_PORT", "AUTO_IMAPS_PORT", "AUTO_CH6_DATABASE", "AUTO_SPAMHAUS_DB_KEY", "DNSBL_CHECK_IN_CONNECT", "AUTO_VERSION",
]);
const SECRET_KEYS = new Set(["AUTO_SPAMHAUS_DB_KEY"]);

function isKnownKey(key: string): boolean {
  return SWITCH_KEYS.has(key) || VALUE_KEYS.has(key);
}

/** The settings when no file says anything. */
function defaultSettings(source: string): Settings {
  const enabled = Object.fromEntries(CATALOGUE.map((c) => [c.id, c.defaultOn])) as Record<ChangeId, boolean>;
  return { enabled, dnsblInConnect: [...DNSBLS], source };
}

/**
 * The file's settings as a shell would set them. A line the shell would
 * run or expand is refused rather than ignored: the old installer would
 * have run it, so the admin meant something by it. The refusal names the
 * line by number only (shell-subset.ts says why).
 */
function tokenize(text: string, source: string): RawSetting[] {
  try {
    return readShellAssignments(text).map((a) => ({ key: a.name, value: a.value, where: `${source} line ${a.line}` }));
  } catch (err) {
    if (!(err instanceof ShellSubsetError)) throw err;
    throw new InputError(problem(`${source} line ${err.line}`, err.what, err.fix));
  }
}

/** `KEY=VALUE` as shown in a message; a secret value is never shown. */
function shown(raw: RawSetting): string {
  return SECRET_KEYS.has(raw.key) ? `${raw.key}=…` : escapeControls(`${raw.key}=${raw.value}`);
}

function refuse(raw: RawSetting, what: string, fix: string): never {
  throw new InputError(problem(raw.where, `${shown(raw)}: ${what}`, fix));
}

function parsePort(raw: RawSetting): number | undefined {
  if (raw.value === "") return undefined;
  const port = /^[0-9]{1,5}$/.test(raw.value) ? Number(raw.value) : NaN;
  if (!(port >= 1 && port <= 65535)) refuse(raw, "not a port number", "give a number from 1 to 65535, or leave it empty to skip ch2");
  if ((STANDARD_IMAP_PORTS as readonly number[]).includes(port)) {
    refuse(raw, `dovecot already listens on ${port}`, "choose a port other than 143 and 993");
  }
  return port;
}

function parseDnsbls(raw: RawSetting): Dnsbl[] {
  const names = raw.value.split(":").map((n) => n.trim()).filter((n) => n !== "");
  for (const name of names) {
    if (!(DNSBLS as readonly string[]).includes(name)) {
      refuse(raw, `unknown blacklist \`${name}\``, `use any of ${DNSBLS.join(", ")}, separated by ':'`);
    }
  }
  return [...new Set(names as Dnsbl[])];
}

/** Checks one known setting and records it in `s`. */
function take(s: Settings, raw: RawSetting): void {
  if (/\$\(|`|\n/.test(raw.value)) {
    refuse(raw, "contains a newline or shell syntax ($(...) or backticks)", "the file is read as text, never run: write the plain value");
  }
  const id = SWITCH_KEYS.get(raw.key);
  if (id) {
    if (raw.value !== "Y" && raw.value !== "N") refuse(raw, "not Y or N", "write Y (install) or N (remove), capital letters as the old installer read them");
    s.enabled[id] = raw.value === "Y";
    return;
  }
  switch (raw.key) {
    case "AUTO_IMAP_PORT":
      s.imapPort = parsePort(raw);
      return;
    case "AUTO_IMAPS_PORT":
      s.imapsPort = parsePort(raw);
      return;
    case "AUTO_CH6_DATABASE":
      if (raw.value !== "" && !(FIREWALLS as readonly string[]).includes(raw.value)) {
        refuse(raw, "unknown firewall database", `use ${FIREWALLS.join(", ")}, or leave it empty to detect it`);
      }
      s.database = raw.value === "" ? undefined : (raw.value as Firewall);
      return;
    case "AUTO_SPAMHAUS_DB_KEY":
      if (raw.value !== "" && !/^[A-Za-z0-9]+$/.test(raw.value)) {
        refuse(raw, "a Spamhaus key is letters and digits only", "copy the key from your Spamhaus account, or leave it empty");
      }
      s.spamhausKey = raw.value === "" ? undefined : raw.value;
      return;
    case "DNSBL_CHECK_IN_CONNECT":
      s.dnsblInConnect = parseDnsbls(raw);
      return;
    case "AUTO_VERSION":
      if (raw.value !== SETTINGS_VERSION) refuse(raw, "unknown settings version", `this makefilecheck reads version ${SETTINGS_VERSION}`);
      return;
  }
}

/** Checks what only the whole set can show: the two extra ports must differ. */
function crossCheck(s: Settings, raws: RawSetting[]): void {
  if (s.imapPort !== undefined && s.imapPort === s.imapsPort) {
    const last = [...raws].reverse().find((r) => r.key === "AUTO_IMAPS_PORT" || r.key === "AUTO_IMAP_PORT");
    if (last) refuse(last, "AUTO_IMAP_PORT and AUTO_IMAPS_PORT are the same port", "give the two listeners different ports");
  }
}

/** The most a settings file, or a file given to --set-from-file, may hold: ours are a few KiB. */
export const SETTINGS_MAX_BYTES = 64 * 1024;

/** One `--set-from-file NAME=PATH` as read: the setting and the value the file held. */
export interface FileSetting {
  key: string;
  value: string;
  /** `--set-from-file NAME=PATH`, for messages. */
  where: string;
}

const KNOWN_SETTINGS = `known settings: AUTO_CH1..AUTO_CH14, ${[...VALUE_KEYS].join(", ")}`;

/** Why the key must not travel on a command line, and how else to pass it. */
const KEY_ON_COMMAND_LINE = "any user can read a command line (/proc/PID/cmdline) while the run lasts";
const KEY_FIX = "pass the key in the settings file (mode 0600) or with --set-from-file AUTO_SPAMHAUS_DB_KEY=FILE (`-`: standard input)";

/**
 * Parses a settings file's text and the overrides, which win over it:
 * `--set KEY=VALUE`, then `--set-from-file`. Unknown keys in the file are
 * passed to `warn`, and so is a key given with --set; unknown keys on the
 * command line, and every bad value, throw InputError naming the setting
 * and where it was written.
 */
export function parseSettings(text: string, source: string, sets: string[], warn: (line: string) => void, fromFiles: FileSetting[] = []): Settings {
  const raws = tokenize(text, source);
  for (const set of sets) {
    const eq = set.indexOf("=");
    const key = eq > 0 ? set.slice(0, eq) : set;
    const where = "--set";
    if (eq <= 0 || !isKnownKey(key)) throw new InputError(problem(where, eq <= 0 ? "expected KEY=VALUE" : "unknown setting", KNOWN_SETTINGS));
    const value = set.slice(eq + 1);
    if (SECRET_KEYS.has(key) && value !== "") warn(problem(`--set ${key}`, KEY_ON_COMMAND_LINE, KEY_FIX));
    raws.push({ key, value, where });
  }
  raws.push(...fromFiles);
  const s = defaultSettings(source);
  for (const raw of raws) {
    if (isKnownKey(raw.key)) take(s, raw);
    else warn(problem(raw.where, `unknown setting ${raw.key} ignored`, "check its spelling against `makefilecheck install --init`"));
  }
  crossCheck(s, raws);
  return s;
}

/** Where --set-from-file reads: a host path's small file, or standard input (null when it holds more than the cap). */
export interface ValueSources {
  file: (path: string) => SmallFile;
  stdin: () => Buffer | null;
}

/** What stood at a path instead of a small regular file, in words. */
const REFUSED: Record<Exclude<SmallFile, { data: Buffer }>["refused"], string> = {
  missing: "no such file",
  link: "is a symlink: it is read only as itself, never through a link",
  dir: "is a directory",
  other: "is not a regular file (a FIFO, a device or a socket): it is not read",
  "too-big": `holds more than ${SETTINGS_MAX_BYTES / 1024} KiB, more than any setting: it is not read`,
};

/**
 * The values of `--set-from-file NAME=PATH` (PATH `-`: standard input,
 * once): the file's text without its last line end. The value is checked
 * like any other (take), and a secret one is never shown.
 */
export function readFileSettings(specs: string[], sources: ValueSources): FileSetting[] {
  let stdinTaken = false;
  return specs.map((spec) => {
    const eq = spec.indexOf("=");
    const key = eq > 0 ? spec.slice(0, eq) : spec;
    const path = spec.slice(eq + 1);
    const where = `--set-from-file ${spec}`;
    if (eq <= 0 || path === "") throw new InputError(problem("--set-from-file", "expected NAME=PATH", "give a setting and the file holding its value, or `-` for standard input"));
    if (!isKnownKey(key)) throw new InputError(problem(where, "unknown setting", KNOWN_SETTINGS));
    let data: Buffer;
    if (path === "-") {
      if (stdinTaken) throw new InputError(problem(where, "standard input is given twice", "read one setting from standard input, the others from files"));
      stdinTaken = true;
      const got = sources.stdin();
      if (!got) throw new InputError(problem(where, REFUSED["too-big"], "give the value itself on standard input"));
      data = got;
    } else {
      const got = sources.file(path);
      if ("refused" in got) throw new InputError(problem(where, REFUSED[got.refused], "give a regular file holding the value"));
      data = got.data;
    }
    return { key, value: data.toString("utf8").replace(/\r?\n$/, ""), where };
  });
}

/** True when the file's own lines set the Spamhaus key (it parsed already). */
function fileHoldsKey(text: string): boolean {
  return readShellAssignments(text).some((a) => SECRET_KEYS.has(a.name) && a.value !== "");
}

/**
 * Who beyond root may read a settings file, by its mode: everyone, or a
 * group other than root's and exim's (Debian-exim reads the key file
 * anyway). Null when nobody else may.
 */
function otherReaders(sys: Reader, file: { mode: number; gid: number }): string | null {
  if (file.mode & 0o004) return "every user";
  if (file.mode & 0o040 && file.gid !== 0 && file.gid !== groupId(sys, EXIM_GROUP)) return `the users of group ${file.gid}`;
  return null;
}

/**
 * Reads the settings file at a server path of `sys`; a missing file gives
 * defaults (unless `mustExist`). Only a regular file of at most
 * SETTINGS_MAX_BYTES is read, never through a link (readSmallFile): a link
 * could make our messages quote a file that is not ours. A file holding
 * the key that others may read gets a warning with the fix; the run goes on.
 */
export function readSettingsFile(
  sys: Reader,
  path: ServerPath,
  shownAs: string,
  options: { mustExist: boolean; sets: string[]; fromFiles?: FileSetting[]; warn: (line: string) => void },
): Settings {
  let got: SmallFile;
  try {
    got = sys.readSmallFile(path, SETTINGS_MAX_BYTES);
  } catch (err) {
    throw new InputError(problem(shownAs, `unreadable (${err instanceof Error ? err.message : String(err)})`, "check its permissions"));
  }
  if ("refused" in got) {
    if (got.refused === "missing" && !options.mustExist) {
      return parseSettings("", `${shownAs} (not there yet: \`makefilecheck install --init\` writes one)`, options.sets, options.warn, options.fromFiles);
    }
    if (got.refused === "missing") throw new InputError(problem(shownAs, "no such settings file", "give an existing file, or run `makefilecheck install --init`"));
    const fix = got.refused === "link" ? "give the file the link points to, or put that file in the link's place" : "give the settings file itself";
    throw new InputError(problem(shownAs, REFUSED[got.refused], fix));
  }
  const text = got.data.toString("utf8");
  const settings = parseSettings(text, shownAs, options.sets, options.warn, options.fromFiles);
  const readers = fileHoldsKey(text) ? otherReaders(sys, got) : null;
  if (readers) options.warn(problem(shownAs, `holds AUTO_SPAMHAUS_DB_KEY and ${readers} may read it (mode ${got.mode.toString(8).padStart(4, "0")})`, `chmod 600 ${shownAs}`));
  return settings;
}

/** The commented default settings file that `install --init` writes. */
export function defaultSettingsText(): string {
  const lines = [
    "# makefilecheck install settings (the old installer's Autoinstall.conf format).",
    "# This file is read as text and never run. KEY=VALUE per line; quotes and",
    "# `export` are accepted. Switches take Y (install) or N (remove again).",
    "",
    `AUTO_VERSION=${SETTINGS_VERSION}`,
    "",
  ];
  for (const c of CATALOGUE) {
    lines.push(`# ${c.id} (${c.app}): ${c.title}: ${c.why}`);
    if (c.needs.length) lines.push(`#   needs ${c.needs.join(", ")}`);
    lines.push(`${switchKey(c.id)}=${c.defaultOn ? "Y" : "N"}`);
  }
  lines.push(
    "",
    "# ch2: the extra IMAP and IMAPS ports (not 143 or 993). Both empty: ch2 is skipped.",
    "AUTO_IMAP_PORT=",
    "AUTO_IMAPS_PORT=",
    "",
    "# ch6: the firewall database: sympl, symbiosis or nftfw; empty: detect it.",
    "AUTO_CH6_DATABASE=",
    "",
    "# ch10/ch13: your Spamhaus Data Query Service key (letters and digits); empty: public lists.",
    "AUTO_SPAMHAUS_DB_KEY=",
    "",
    "# ch13: the blacklists checked at connect, any of spamhaus, spamcop, barracuda.",
    `DNSBL_CHECK_IN_CONNECT="${DNSBLS.join(" : ")}"`,
    "",
  );
  return lines.join("\n");
}
