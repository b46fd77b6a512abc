/**
 * A fixture tree with the email changes installed, assembled into the
 * config files the daemons read, for the proofs with the real exim4 and
 * dovecot. The install is done here by hand from SNIPPETS (copy sympl.d,
 * add the texts, the ch3/ch4 comment edits, ch6's defines) so these
 * proofs test the texts alone, whatever the installer does around them.
 */
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SNIPPETS, SPAMHAUS_NO_KEY_TEXT } from "../../src/changes/snippets.js";
import { appPaths, type App } from "../../src/layout.js";
import { assembleConfig, inRoot, makeRoot, writeSymplTree } from "../fixtures/sympl.js";
import { copyTree } from "../fixtures/paths.js";

/** The settings a proof installs the changes with. */
export interface ProofSettings {
  /** Changes to leave out, e.g. ["ch12"] for a test that needs clients without PTR. */
  without?: string[];
  /** ch10's Spamhaus key; none by default. */
  spamhausKey?: string;
  /** ch13's list, default `spamhaus : spamcop : barracuda`. */
  dnsblInConnect?: string;
  /** ch2's ports. */
  imapPort?: number;
  imapsPort?: number;
  /** ch6's firewall database flavour (the DB's server path is FIREWALL_DB_PATH of it). */
  firewall?: "sympl" | "nftfw";
  /** ch6's threshold, default 10. */
  threshold?: number;
}

/** Where each firewall keeps its database on the server. */
export const FIREWALL_DB_PATH = {
  sympl: "/var/lib/sympl/firewall-blacklist-count.db",
  nftfw: "/var/lib/nftfw/firewall.db",
} as const;

/** Upstream lines ch3 and ch4 comment out: change → [file, lines]. */
const COMMENTED: Record<string, [string, string[]]> = {
  ch3: ["00-main/50-tls-options", ["log_selector = +tls_sni"]],
  ch4: ["00-main/60-general-options", ["rfc1413_hosts =", "rfc1413_query_timeout = 5s"]],
};

function placeholders(s: ProofSettings): Record<string, string> {
  return {
    IMAP_PORT: String(s.imapPort ?? 1143),
    IMAPS_PORT: String(s.imapsPort ?? 1993),
    DNSBL_CHECK_IN_CONNECT: s.dnsblInConnect ?? "spamhaus : spamcop : barracuda",
    SPAMHAUS_DQ_KEY: s.spamhausKey ?? "",
  };
}

function fill(text: string, values: Record<string, string>): string {
  return text.replace(/@@([A-Z_]+)@@/g, (_all, name: string) => values[name]!);
}

function writeText(file: string, text: string): void {
  writeFileSync(file, text);
  chmodSync(file, 0o644);
}

/** ch3/ch4: `# ` before the upstream lines the new snippets replace. */
function commentOut(local: string, s: ProofSettings): void {
  for (const [change, [rel, lines]] of Object.entries(COMMENTED)) {
    if (s.without?.includes(change)) continue;
    const file = join(local, rel);
    const text = readFileSync(file, "utf8")
      .split("\n")
      .map((line) => (lines.includes(line.trim()) ? `# ${line}` : line))
      .join("\n");
    writeText(file, text);
  }
}

/** ch6: the defines the installer appends to ch5's 21-connect-check. */
function firewallDefines(s: ProofSettings): string {
  if (!s.firewall) return "";
  const prefix = s.firewall === "nftfw" ? "NFTFW" : "SYMPL";
  return `${prefix}_INCIDENT_THRESHOLD = ${s.threshold ?? 10}\n${prefix}_DB = ${FIREWALL_DB_PATH[s.firewall]}\n`;
}

/** Installs the changes for `app` into a copy of its sympl.d under `root`. */
function installApp(root: string, app: App, s: ProofSettings): void {
  const paths = appPaths(app);
  const local = inRoot(root, paths.local);
  copyTree(inRoot(root, paths.upstream), local);
  const values = placeholders(s);
  for (const [rel, snippet] of Object.entries(SNIPPETS)) {
    if (snippet.app !== app || s.without?.includes(snippet.change)) continue;
    const keyFileWithoutKey = rel === "00-main/35-spamhaus-key" && !s.spamhausKey;
    writeText(join(local, rel), keyFileWithoutKey ? SPAMHAUS_NO_KEY_TEXT : fill(snippet.text, values));
  }
  if (app === "exim4") {
    commentOut(local, s);
    const connectCheck = join(local, "00-main/21-connect-check");
    if (existsSync(connectCheck)) appendFileSync(connectCheck, firewallDefines(s));
  }
}

/** A temp root with the changes installed, and each app's assembled config. */
export interface ProofTree {
  root: string;
  /** Host path of the assembled config of each app. */
  conf: Record<App, string>;
}

/**
 * A fresh root (remove it afterwards) holding a vanilla Sympl tree with
 * the changes installed in sympl-local.d, assembled as Makefile.local
 * would into `ROOT/etc/APP/APP.conf`.
 */
export function buildProofTree(settings: ProofSettings = {}): ProofTree {
  const root = makeRoot();
  writeSymplTree(root);
  const conf = {} as Record<App, string>;
  for (const app of ["exim4", "dovecot"] as const) {
    installApp(root, app, settings);
    conf[app] = inRoot(root, appPaths(app).conf);
    writeText(conf[app], assembleConfig(root, app, "sympl-local.d"));
  }
  return { root, conf };
}

/**
 * `-D` overrides that point the config's server paths into the test root:
 * the whitelist files under ETC_DIR, the domains under VHOST_DIR, and the
 * firewall database ch6's defines name.
 */
export function rootMacros(tree: ProofTree, settings: ProofSettings = {}): Record<string, string> {
  const macros: Record<string, string> = {
    ETC_DIR: inRoot(tree.root, "/etc"),
    VHOST_DIR: inRoot(tree.root, "/srv"),
  };
  if (settings.firewall) {
    macros[settings.firewall === "nftfw" ? "NFTFW_DB" : "SYMPL_DB"] = inRoot(tree.root, FIREWALL_DB_PATH[settings.firewall]);
  }
  return macros;
}

/** Makes directories (755) under the root for a server path. */
function mkdirs(root: string, serverPath: string): string {
  const dir = inRoot(root, serverPath);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}

/** A hosted domain with one mailbox: `VHOST_DIR/DOMAIN/mailboxes/USER`. */
export function addMailbox(root: string, domain: string, user: string): void {
  mkdirs(root, `/srv/${domain}/mailboxes/${user}`);
}

/** Switches a DNS blacklist on for a domain: the control file named for the list. */
export function enableBlacklist(root: string, domain: string, list: string): void {
  writeText(join(mkdirs(root, `/srv/${domain}/config/blacklists`), list), "");
}

/** Writes `ETC_DIR/exim4/whitelist_connect_hosts` (ch5) with these hosts. */
export function writeConnectWhitelist(root: string, hosts: string[]): void {
  writeText(join(mkdirs(root, "/etc/exim4"), "whitelist_connect_hosts"), `${hosts.join("\n")}\n`);
}
