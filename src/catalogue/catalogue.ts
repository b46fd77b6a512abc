/**
 * The fourteen email changes (docs/sympl.md) as data: what each one adds,
 * which upstream lines it edits, which settings control it and what it
 * needs. The snippet texts themselves live in snippets.ts; this file only
 * names them, so install, `changes` and sync all reason from one table.
 */
import type { App } from "../server-layout.js";
import { SNIPPETS } from "./snippets.js";

/** Change ids in catalogue order. */
export const CHANGE_IDS = [
  "ch1", "ch2", "ch3", "ch4", "ch5", "ch6", "ch7",
  "ch8", "ch9", "ch10", "ch11", "ch12", "ch13", "ch14",
] as const;
export type ChangeId = (typeof CHANGE_IDS)[number];

/** Parses a change id as typed on the command line. */
export function isChangeId(id: string): id is ChangeId {
  return (CHANGE_IDS as readonly string[]).includes(id);
}

/**
 * An in-place edit of upstream's exim main options (the files under
 * MAIN_OPTIONS_DIR), declared by its intent so it holds on every upstream
 * release (see edits.ts):
 * `own`: the change owns these options: every active upstream setting of
 * them is commented out (continuation lines too), whatever its value, and
 * the change's own snippet sets them.
 * `word`: in upstream's active setting of `option`, the word `from`
 * becomes `to`; where upstream's setting lacks `from` there is nothing to do.
 */
export type OptionEdit =
  | { kind: "own"; change: ChangeId; options: string[] }
  | { kind: "word"; change: ChangeId; option: string; from: string; to: string };

/** The directory of exim's main options in the snippet tree. */
export const MAIN_OPTIONS_DIR = "00-main";

/** The log_selector flags ch3 adds to upstream's: protocol errors, the interface (I=), AUTH on MAIL. */
export const OUR_LOG_FLAGS = ["+smtp_protocol_error", "+incoming_interface", "+smtp_mailauth"] as const;

/** The settings-file keys (the old installer's names). */
export type SettingKey =
  | `AUTO_CH${number}`
  | "AUTO_IMAP_PORT"
  | "AUTO_IMAPS_PORT"
  | "AUTO_CH6_DATABASE"
  | "AUTO_SPAMHAUS_DB_KEY"
  | "DNSBL_CHECK_IN_CONNECT"
  | "AUTO_VERSION";

/** One email change. */
export interface Change {
  id: ChangeId;
  app: App;
  title: string;
  /** One line: why an admin would want it. */
  why: string;
  /** In-place edits of upstream snippets. */
  edits: OptionEdit[];
  /** Upstream snippets it replaces whole with its own text from SNIPPETS. */
  replaces: string[];
  /** The snippet (another change's) it appends define lines to. */
  appendsTo?: string;
  /** Settings beyond its AUTO_CHn switch that shape what it writes. */
  settings: SettingKey[];
  /** Changes that must be installed with it. */
  needs: ChangeId[];
  /** Changes it needs too once a Spamhaus key is set (ch13 uses ch10's key define). */
  needsWithSpamhausKey: ChangeId[];
  defaultOn: boolean;
}

/** ch5's definitions file, where ch6 appends the firewall defines. */
export const CONNECT_CHECK_FILE = "00-main/21-connect-check";

const RCPT_BLACKLISTS = "10-acl/50-acl-check-rcpt/75-dns-blacklists";

type Defaulted = "edits" | "replaces" | "settings" | "needs" | "needsWithSpamhausKey" | "defaultOn";

function change(c: Omit<Change, Defaulted> & Partial<Change>): Change {
  return { edits: [], replaces: [], settings: [], needs: [], needsWithSpamhausKey: [], defaultOn: true, ...c };
}

/** Every change, in id order. */
export const CATALOGUE: readonly Change[] = [
  change({
    id: "ch1", app: "dovecot", title: "log failed authentications",
    why: "dovecot says why a login failed, so the firewall can see password guessing",
  }),
  change({
    id: "ch2", app: "dovecot", title: "extra IMAP listeners on private ports",
    why: "users on private ports escape the robots that hammer 143 and 993",
    settings: ["AUTO_IMAP_PORT", "AUTO_IMAPS_PORT"],
  }),
  change({
    id: "ch3", app: "exim4", title: "log protocol errors, interface and AUTH use",
    why: "protocol errors and the I= interface in the log are what the firewall matches",
    edits: [{ kind: "own", change: "ch3", options: ["log_selector"] }],
  }),
  change({
    id: "ch4", app: "exim4", title: "turn off ident lookups the documented way",
    why: "no ident query delays a connection",
    edits: [{ kind: "own", change: "ch4", options: ["rfc1413_hosts", "rfc1413_query_timeout"] }],
  }),
  change({
    id: "ch5", app: "exim4", title: "whitelist that skips the connect checks",
    why: "known, relay and private hosts are accepted before any connect-time check",
  }),
  change({
    id: "ch6", app: "exim4", title: "deny IPs with a firewall history at connect",
    why: "a returning offender is turned away and logged so the firewall blocks it again",
    appendsTo: CONNECT_CHECK_FILE, settings: ["AUTO_CH6_DATABASE"], needs: ["ch5"],
  }),
  change({
    id: "ch7", app: "exim4", title: "rate-limit connections",
    why: "full-speed connectors are deferred, giving the firewall time to judge them",
    needs: ["ch5"],
  }),
  change({
    id: "ch8", app: "exim4", title: "Spamcop and Barracuda per domain",
    why: "two more DNS blacklists, switched on per domain like Spamhaus",
  }),
  change({
    id: "ch9", app: "exim4", title: "deny at RCPT when the IP has no PTR",
    why: "most spam sources have no reverse DNS",
  }),
  change({
    id: "ch10", app: "exim4", title: "Spamhaus Data Query Service and DBL",
    why: "keyed Spamhaus lookups work where the public ones are refused, plus sender-domain checks",
    replaces: [RCPT_BLACKLISTS], settings: ["AUTO_SPAMHAUS_DB_KEY"],
  }),
  change({
    id: "ch11", app: "exim4", title: "no 'no_matching_hosts' lookup errors",
    why: "stops a useless failing DNS lookup per plain-text connection (current Sympl has it)",
    edits: [{
      kind: "word", change: "ch11", option: "auth_advertise_hosts", from: "no_matching_hosts", to: "localhost",
    }],
    defaultOn: false,
  }),
  change({
    id: "ch12", app: "exim4", title: "deny at connect when the IP has no PTR",
    why: "the ch9 test before the client can try passwords",
    needs: ["ch5"],
  }),
  change({
    id: "ch13", app: "exim4", title: "DNS blacklists at connect",
    why: "listed IPs are turned away before they can try passwords",
    settings: ["DNSBL_CHECK_IN_CONNECT", "AUTO_SPAMHAUS_DB_KEY"], needs: ["ch5"], needsWithSpamhausKey: ["ch10"],
  }),
  change({
    id: "ch14", app: "exim4", title: "verify senders in local domains",
    why: "a forged sender in one of our own domains is refused",
  }),
];

/** The catalogue entry of `id`. */
export function changeById(id: ChangeId): Change {
  const found = CATALOGUE.find((c) => c.id === id);
  if (!found) throw new Error(`internal error: no change ${id}`);
  return found;
}

/** The settings-file switch of a change (`AUTO_CH3`). */
export function switchKey(id: ChangeId): SettingKey {
  return `AUTO_CH${id.slice(2)}` as SettingKey;
}

/** The snippet paths a change writes (added files and whole replacements), sorted. */
export function changeFiles(id: ChangeId): string[] {
  return Object.keys(SNIPPETS)
    .filter((path) => SNIPPETS[path]?.change === id)
    .sort();
}
