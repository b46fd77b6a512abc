/**
 * Real SQLite firewall databases for ch6, made with the sqlite3 program in
 * the two shapes the rule reads: Sympl's (and Symbiosis') count database,
 * one row per incident with a count, and nftfw's, one row per address
 * with a match count. IPv6 clients are stored as their /64 network.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { BINARIES } from "./daemons.js";

/** The two database shapes. */
export type FirewallFlavour = "sympl" | "nftfw";

/** One address (or /64 network) and its incident count. */
export interface FirewallEntry {
  ip: string;
  count: number;
}

/** The table each firewall keeps, with the columns besides ip and the count. */
const SCHEMA: Record<FirewallFlavour, string> = {
  sympl: "CREATE TABLE blacklist (ip TEXT, count INTEGER, application TEXT, last_seen INTEGER);",
  nftfw:
    "CREATE TABLE blacklist (ip TEXT PRIMARY KEY, isipv6 INTEGER, ports TEXT, matchcount INTEGER, incidents INTEGER, first INTEGER, last INTEGER);",
};

/** SQL text literal: the only special character is the quote, doubled. */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * The INSERTs for one entry. Sympl's count is split over two rows (two
 * applications) so the rule must add them up, as the real one does.
 */
function inserts(flavour: FirewallFlavour, entry: FirewallEntry): string[] {
  const ip = literal(entry.ip);
  if (flavour === "nftfw") {
    const v6 = entry.ip.includes(":") ? 1 : 0;
    return [`INSERT INTO blacklist VALUES (${ip}, ${v6}, '25,465,587', ${entry.count}, 1, 0, 0);`];
  }
  const half = Math.floor(entry.count / 2);
  return [
    `INSERT INTO blacklist VALUES (${ip}, ${half}, 'exim', 0);`,
    `INSERT INTO blacklist VALUES (${ip}, ${entry.count - half}, 'dovecot', 0);`,
  ];
}

/**
 * Creates the database at host path `file` (parents 755, file 644 so the
 * exim user can read it) holding `entries`.
 */
export function writeFirewallDb(file: string, flavour: FirewallFlavour, entries: FirewallEntry[]): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  const sql = [SCHEMA[flavour], ...entries.flatMap((e) => inserts(flavour, e))].join("\n");
  const run = spawnSync(BINARIES.sqlite3, [file], { input: sql, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`sqlite3 ${file}: ${run.stderr || run.error}`);
  chmodSync(file, 0o644);
}
