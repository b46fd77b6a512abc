/**
 * A fixture tree with the email changes installed by the real `install`
 * command (called as a function, settings given as --set values), and the
 * config each daemon would read, assembled as Makefile.local does. The
 * proofs so test the snippet texts as the installer writes them.
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { install } from "../../src/changes/commands.js";
import { NFTFW_DBS, SYMPL_DB } from "../../src/changes/firewall.js";
import { appPaths, type App } from "../../src/server-layout.js";
import { assembleConfig, inRoot, makeRoot, writeSymplTree } from "../fixtures/sympl.js";
import { testContext } from "./context.js";

/** The settings a proof installs the changes with. */
export interface ProofSettings {
  /** Changes switched off (AUTO_CHn=N), e.g. ["ch12"] for a test that needs clients without PTR. */
  without?: string[];
  /** ch10's Spamhaus key (AUTO_SPAMHAUS_DB_KEY); none by default. */
  spamhausKey?: string;
  /** ch13's list (DNSBL_CHECK_IN_CONNECT, `:`-separated); the installer's default when unset. */
  dnsblInConnect?: string;
  /** ch2's ports; 1143 and 1993 when unset. */
  imapPort?: number;
  imapsPort?: number;
  /** ch6's firewall database (AUTO_CH6_DATABASE); unset, the installer finds none and skips ch6. */
  firewall?: "sympl" | "nftfw";
}

/** Where each firewall keeps its database on the server (ch6's installer defaults). */
export const FIREWALL_DB_PATH = {
  sympl: SYMPL_DB,
  nftfw: NFTFW_DBS[0],
} as const;

/** `settings` as the installer's --set values. */
function setValues(s: ProofSettings): string[] {
  return [
    ...(s.without ?? []).map((id) => `AUTO_${id.toUpperCase()}=N`),
    `AUTO_IMAP_PORT=${s.imapPort ?? 1143}`,
    `AUTO_IMAPS_PORT=${s.imapsPort ?? 1993}`,
    ...(s.spamhausKey === undefined ? [] : [`AUTO_SPAMHAUS_DB_KEY=${s.spamhausKey}`]),
    ...(s.dnsblInConnect === undefined ? [] : [`DNSBL_CHECK_IN_CONNECT=${s.dnsblInConnect}`]),
    ...(s.firewall ? [`AUTO_CH6_DATABASE=${s.firewall}`] : []),
  ];
}

function writeText(file: string, text: string): void {
  writeFileSync(file, text);
  chmodSync(file, 0o644);
}

/** A temp root with the changes installed, and each app's assembled config. */
export interface ProofTree {
  root: string;
  /** Host path of the assembled config of each app. */
  conf: Record<App, string>;
}

/**
 * A fresh root (remove it afterwards) holding a vanilla Sympl tree on
 * which `install` put the changes, with each app's sympl-local.d
 * assembled into `ROOT/etc/APP/APP.conf`. install runs the daemons'
 * config test itself, so a tree they would reject never gets this far.
 */
export async function buildProofTree(settings: ProofSettings = {}): Promise<ProofTree> {
  const root = makeRoot();
  writeSymplTree(root);
  const result = await install(testContext(root), { _: [], set: setValues(settings) });
  if (result.code !== 0) throw new Error(`install exited ${result.code}: ${result.lines.join("; ")}`);
  const conf = {} as Record<App, string>;
  for (const app of ["exim4", "dovecot"] as const) {
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
