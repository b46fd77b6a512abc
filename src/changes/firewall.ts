/**
 * ch6: which firewall database the connect check reads, and the define
 * lines it appends to ch5's 21-connect-check to switch its rule on. Paths
 * here are the server's own: they go into exim's config and are read by
 * exim on the server, so they are never prefixed with --root.
 */
import type { Reader } from "../system/system.js";
import { EXIM_USER, probeFirewallDb, unusable } from "../tree/firewall-db.js";
import type { Firewall } from "./settings.js";
import { serverPath } from "../paths.js";
import type { ServerPath } from "../paths.js";

/** Above this many recorded incidents an IP is denied at connect. */
const INCIDENT_THRESHOLD = 10;

/** nftfw's database, in the system and the /usr/local install. */
export const NFTFW_DBS = [serverPath("/var/lib/nftfw/firewall.db"), serverPath("/usr/local/var/lib/nftfw/firewall.db")] as const;
/** nftfw's config directories, matching NFTFW_DBS. */
const NFTFW_CONFIGS = [serverPath("/etc/nftfw"), serverPath("/usr/local/etc/nftfw")] as const;
/** The Sympl firewall's incident counts. */
export const SYMPL_DB = serverPath("/var/lib/sympl/firewall-blacklist-count.db");
/** The same file on Symbiosis, Sympl's predecessor. */
const SYMBIOSIS_DB = serverPath("/var/lib/symbiosis/firewall-blacklist-count.db");

/** The database ch6 will read, and how it was chosen (shown to the admin). */
export interface FirewallChoice {
  firewall: Firewall;
  db: string;
  how: string;
  /** Set when the database is there but exim could not use it: why, and the fix (ch6 then waits). */
  unusable?: string;
}

function exists(sys: Reader, path: ServerPath): boolean {
  return sys.stat(path) !== null;
}

/** nftfw's database: an existing one, else the one beside its config, else the system path. */
function nftfwDb(sys: Reader): { db: string; seen?: string } {
  const db = NFTFW_DBS.find((p) => exists(sys, p));
  if (db) return { db, seen: db };
  const i = NFTFW_CONFIGS.findIndex((p) => exists(sys, p));
  if (i >= 0) return { db: NFTFW_DBS[i] ?? NFTFW_DBS[0], seen: NFTFW_CONFIGS[i] };
  return { db: NFTFW_DBS[0] };
}

/**
 * The firewall database for ch6: the configured one, or the first found of
 * nftfw (config or database, under / or /usr/local), the Sympl database,
 * the Symbiosis database. Null when nothing is configured or found.
 */
export function chooseFirewall(sys: Reader, configured: Firewall | undefined): FirewallChoice | null {
  if (configured === "nftfw") return { firewall: "nftfw", db: nftfwDb(sys).db, how: "AUTO_CH6_DATABASE=nftfw" };
  if (configured === "sympl") return { firewall: "sympl", db: SYMPL_DB, how: "AUTO_CH6_DATABASE=sympl" };
  if (configured === "symbiosis") return { firewall: "symbiosis", db: SYMBIOSIS_DB, how: "AUTO_CH6_DATABASE=symbiosis" };
  const nft = nftfwDb(sys);
  if (nft.seen) return { firewall: "nftfw", db: nft.db, how: `found ${nft.seen}` };
  if (exists(sys, SYMPL_DB)) return { firewall: "sympl", db: SYMPL_DB, how: `found ${SYMPL_DB}` };
  if (exists(sys, SYMBIOSIS_DB)) return { firewall: "symbiosis", db: SYMBIOSIS_DB, how: `found ${SYMBIOSIS_DB}` };
  return null;
}

/**
 * chooseFirewall, with the chosen database opened as exim will open it
 * (tree/firewall-db.ts): one that is there but that exim cannot use (a
 * directory, not SQLite, another table, unreadable by Debian-exim) is
 * `unusable`, so ch6 waits instead of making exim defer every connection.
 * A missing database is fine: the rule skips itself until the firewall
 * writes it. Without root the probe cannot run, and the choice stands.
 */
export async function usableFirewall(sys: Reader, configured: Firewall | undefined): Promise<FirewallChoice | null> {
  const choice = chooseFirewall(sys, configured);
  if (!choice) return null;
  const probe = await probeFirewallDb(sys, serverPath(choice.db), choice.firewall === "nftfw" ? "matchcount" : "count");
  if (!unusable(probe)) return choice;
  const fix =
    probe.verdict === "no-sqlite3"
      ? "apt-get install sqlite3, so that install can open it as exim would"
      : probe.verdict === "no-user"
        ? "install exim4 (apt-get install exim4-daemon-heavy)"
        : `put the ${choice.firewall} database there readable by ${EXIM_USER}, or set AUTO_CH6_DATABASE to the firewall you run`;
  return { ...choice, unusable: `${choice.db} cannot be read by exim as ${EXIM_USER} (${probe.detail}): with ch6 exim would defer every connection (451) — ${fix}` };
}

/** The first line of the block ch6 appends; it marks the block as ours. */
const BLOCK_HEAD = "# ch6: the firewall database the connect check reads (written by makefilecheck install)";

/** The define lines ch6 appends to 21-connect-check (a leading blank line keeps them apart). */
export function defineBlock(choice: FirewallChoice): string {
  const prefix = choice.firewall === "nftfw" ? "NFTFW" : "SYMPL";
  if (!/^\/[A-Za-z0-9._/-]+$/.test(choice.db)) throw new Error(`internal error: unsafe database path ${choice.db}`);
  return `\n${BLOCK_HEAD}\n${prefix}_INCIDENT_THRESHOLD = ${INCIDENT_THRESHOLD}\n${prefix}_DB = ${choice.db}\n`;
}

/** Splits a 21-connect-check into ch5's part and ch6's appended block ("" when absent). */
export function splitDefineBlock(text: string): { base: string; block: string } {
  const m = /\n# ch6: [^\n]*\n(SYMPL|NFTFW)_INCIDENT_THRESHOLD = [0-9]+\n\1_DB = \/[^\s]*\n$/.exec(text);
  if (!m || !m[0].startsWith(`\n${BLOCK_HEAD}\n`)) return { base: text, block: "" };
  return { base: text.slice(0, m.index), block: m[0] };
}
