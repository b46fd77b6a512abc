/**
 * The install settings, in the old installer's Autoinstall.conf format: a
 * `#!/bin/sh` file of KEY=VALUE lines, read as a shell would read that
 * subset (shell-subset.ts) and never run;
 * every value that can reach an exim or dovecot file is checked against a
 * strict grammar here, before anything is planned.
 */
import { InputError, problem } from "../errors.js";
import type { Reader } from "../system/system.js";
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

/** A line of the file as shown in a message: control characters escaped, a secret's value hidden, long lines cut. */
function shownLine(text: string): string {
  let line = text.trim();
  for (const key of SECRET_KEYS) line = line.replace(new RegExp(`(${key}=).*$`), "$1…");
  line = escapeControls(line);
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}

/**
 * The file's settings as a shell would set them. A line the shell would
 * run or expand is refused rather than ignored: the old installer would
 * have run it, so the admin meant something by it.
 */
function tokenize(text: string, source: string): RawSetting[] {
  try {
    return readShellAssignments(text).map((a) => ({ key: a.name, value: a.value, where: `${source} line ${a.line}` }));
  } catch (err) {
    if (!(err instanceof ShellSubsetError)) throw err;
    throw new InputError(problem(`${source} line ${err.line}`, `\`${shownLine(err.text)}\`: ${escapeControls(err.what)}`, err.fix));
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

/**
 * Parses a settings file's text and any `--set KEY=VALUE` overrides (which
 * win). Unknown keys in the file are passed to `warn`; unknown keys on the
 * command line, and every bad value, throw InputError naming the setting and
 * where it was written.
 */
export function parseSettings(text: string, source: string, sets: string[], warn: (line: string) => void): Settings {
  const raws = tokenize(text, source);
  for (const set of sets) {
    const eq = set.indexOf("=");
    const key = eq > 0 ? set.slice(0, eq) : set;
    const where = "--set";
    if (eq <= 0 || !isKnownKey(key)) {
      throw new InputError(problem(where, eq <= 0 ? "expected KEY=VALUE" : "unknown setting", `known settings: AUTO_CH1..AUTO_CH14, ${[...VALUE_KEYS].join(", ")}`));
    }
    raws.push({ key, value: set.slice(eq + 1), where });
  }
  const s = defaultSettings(source);
  for (const raw of raws) {
    if (isKnownKey(raw.key)) take(s, raw);
    else warn(problem(raw.where, `unknown setting ${raw.key} ignored`, "check its spelling against `makefilecheck install --init`"));
  }
  crossCheck(s, raws);
  return s;
}

/** Reads the settings file at a server path of `sys`; a missing file gives defaults. */
export function readSettingsFile(
  sys: Reader,
  path: ServerPath,
  shownAs: string,
  options: { mustExist: boolean; sets: string[]; warn: (line: string) => void },
): Settings {
  const st = sys.stat(path);
  if (!st) {
    if (options.mustExist) throw new InputError(problem(shownAs, "no such settings file", "give an existing file, or run `makefilecheck install --init`"));
    return parseSettings("", `${shownAs} (not there yet: \`makefilecheck install --init\` writes one)`, options.sets, options.warn);
  }
  if (st.type === "dir") throw new InputError(problem(shownAs, "is a directory", "give the settings file itself"));
  let text: string;
  try {
    text = sys.readFile(path).toString("utf8");
  } catch (err) {
    throw new InputError(problem(shownAs, `unreadable (${err instanceof Error ? err.message : String(err)})`, "check its permissions"));
  }
  return parseSettings(text, shownAs, options.sets, options.warn);
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
