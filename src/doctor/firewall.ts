/**
 * `firewall-db` (ch6): the database the connect rule reads must exist, hold
 * the table and column the rule asks for, and be readable by the user exim
 * runs its ACLs as. Where Debian-exim cannot open it, the sqlite lookup
 * defers and exim answers every connection it checks with 451. So the
 * probe is the rule's own query, run by sqlite3 as Debian-exim: file
 * modes, ACLs, parent directories and a WAL database's side files are all
 * covered the way exim meets them.
 */
import { EnvironmentError, problem } from "../errors.js";
import type { Reader } from "../system/system.js";
import { activeLines, eximMacros } from "./config.js";
import type { Verdict } from "./report.js";
import { fail, ok, warn } from "./report.js";
import { serverPath } from "../paths.js";
import { EXIM_USER, probeFirewallDb } from "../tree/firewall-db.js";


/** ch6's rule as the live config sets it up. */
export interface FirewallSetup {
  /** The define prefix: NFTFW (column matchcount) or SYMPL (Sympl and Symbiosis, column count). */
  prefix: "NFTFW" | "SYMPL";
  /** The database as a server path. */
  db: string;
  threshold: string;
  column: string;
}

/**
 * ch6's database and threshold when the live config has a rule reading
 * `PREFIX_DB` and both defines are set; null when the rule is not in force.
 */
export function firewallSetup(configText: string): FirewallSetup | null {
  const active = activeLines(configText).join("\n");
  const macros = eximMacros(active);
  for (const [prefix, column] of [["NFTFW", "matchcount"], ["SYMPL", "count"]] as const) {
    const db = macros.get(`${prefix}_DB`);
    const threshold = macros.get(`${prefix}_INCIDENT_THRESHOLD`);
    if (db !== undefined && threshold !== undefined && active.includes(`file=${prefix}_DB`)) return { prefix, db, threshold, column };
  }
  return null;
}

/**
 * Checks ch6's database. Throws EnvironmentError (exit 3) when not root:
 * the probe runs as Debian-exim.
 */
export async function checkFirewallDb(sys: Reader, setup: FirewallSetup): Promise<Verdict> {
  const { db, prefix } = setup;
  const reinstall = `set AUTO_CH6_DATABASE to the firewall you run, then run \`makefilecheck install\` again`;
  if (!/^[1-9][0-9]*$/.test(setup.threshold)) {
    return fail("firewall-db", `${prefix}_INCIDENT_THRESHOLD is ${JSON.stringify(setup.threshold)}, not a positive number`, `set it to a count such as 10 in 00-main/21-connect-check`);
  }
  if (!db.startsWith("/")) return fail("firewall-db", `${prefix}_DB is ${JSON.stringify(db)}, not an absolute path`, reinstall);
  const probe = await probeFirewallDb(sys, serverPath(db), setup.column);
  switch (probe.verdict) {
    case "usable":
      return ok("firewall-db", `${EXIM_USER} reads ${db} (table blacklist, column ${setup.column}); threshold ${setup.threshold}`);
    case "missing":
      return fail("firewall-db", `${probe.detail}: the connect rule skips itself, so no firewall history is used`, `start the firewall that writes it, or ${reinstall}`);
    case "not-root":
      throw new EnvironmentError(problem(db, `doctor reads this database as ${EXIM_USER} (runuser), which needs root`, "run makefilecheck doctor as root"));
    case "no-user":
      return fail("firewall-db", `there is no ${EXIM_USER} user to read ${db} as`, "install exim4 (apt-get install exim4-daemon-heavy)");
    case "no-sqlite3":
      return warn("firewall-db", `cannot read ${db} as ${EXIM_USER}: ${probe.detail}`, "apt-get install sqlite3, then run doctor again");
    case "schema":
      return fail("firewall-db", `${db} is not the database the rule expects (${probe.detail})`, reinstall);
    case "not-a-database":
    case "link-loop":
      return fail("firewall-db", `${db} is not a usable SQLite database (${probe.detail})`, `check what writes ${db}, or ${reinstall}`);
    case "unreadable":
      return fail(
        "firewall-db",
        `${EXIM_USER} cannot read ${db} (${probe.detail}): exim defers every connection it checks (451)`,
        `let ${EXIM_USER} read it and reach its directory, e.g. \`setfacl -m u:${EXIM_USER}:r ${db}\` and x on each parent directory`,
      );
  }
}
