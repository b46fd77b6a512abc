/**
 * ch6's firewall database opened the way exim opens it: read-only, as the
 * user exim runs its ACLs as (Debian-exim), with the query the connect
 * rule makes (its table and columns), through the real sqlite3. Where
 * Debian-exim cannot open it, exim's lookup defers and every connection it
 * checks gets 451 (docs/sympl.md, ch6). install and changes ask before
 * ch6 goes in; doctor asks of the live config.
 */
import { followLinks } from "../system/safe-path.js";
import type { Reader } from "../system/system.js";
import type { ServerPath } from "../paths.js";

/** The user exim's ACLs run as on Debian. */
export const EXIM_USER = "Debian-exim";
const RUNUSER = "/usr/sbin/runuser";
const SQLITE3 = "/usr/bin/sqlite3";

/** How the probe ended: `usable`, or what stands in the way, with sqlite3's own words where it said any. */
export type DbProbe =
  | { verdict: "usable" }
  | { verdict: "missing" | "not-root" | "no-user" | "no-sqlite3" | "link-loop" | "schema" | "not-a-database" | "unreadable"; detail: string };

/** The query the rule makes, for an address no firewall lists. */
function ruleQuery(column: string): string {
  return `SELECT CAST(coalesce(sum(${column}), 0) AS INTEGER) FROM blacklist WHERE ip = '192.0.2.1'`;
}

/** True when this process may run programs as another user. */
function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * Opens `db` (a server path) as Debian-exim and runs the rule's query on
 * it (`column`: nftfw's `matchcount`, Sympl's `count`). A link is followed
 * as exim on the server would, inside --root.
 */
export async function probeFirewallDb(sys: Reader, db: ServerPath, column: string): Promise<DbProbe> {
  let target: ServerPath;
  try {
    target = followLinks(sys, db, () => new Error("a chain of links that does not end"));
  } catch (err) {
    return { verdict: "link-loop", detail: err instanceof Error ? err.message : String(err) };
  }
  const st = sys.stat(target);
  const named = target === db ? db : `${db} (a link to ${target})`;
  if (!st) return { verdict: "missing", detail: `${named} is missing` };
  if (st.type !== "file") return { verdict: "not-a-database", detail: `${named} is ${st.type === "dir" ? "a directory" : "not a regular file"}` };
  if (!isRoot()) return { verdict: "not-root", detail: `reading ${db} as ${EXIM_USER} (runuser) needs root` };
  const run = await sys.run(RUNUSER, ["-u", EXIM_USER, "--", SQLITE3, "-readonly", sys.hostPath(target), ruleQuery(column)], { timeoutMs: 10_000 });
  if (run.exitCode === 0) return { verdict: "usable" };
  const lines = run.stderr.split("\n").map((l) => l.trim()).filter(Boolean);
  const said = lines.find((l) => /^(Error|runuser):/.test(l)) ?? lines[0] ?? "";
  // sqlite3 repeats the path it was given, which is the host path under --root.
  const words = said.replace(/^Error: (in prepare, )?/, "").replace(/^unable to open database "[^"]*": /, "");
  const detail = target === db ? words : `${words}; it is a link to ${target}`;
  if (/does not exist|no such user/i.test(said)) return { verdict: "no-user", detail: `there is no ${EXIM_USER} user` };
  if (run.exitCode === 127 || /failed to execute|No such file/i.test(said)) return { verdict: "no-sqlite3", detail: said || `${SQLITE3} is missing` };
  if (/no such (table|column)/i.test(said)) return { verdict: "schema", detail };
  if (/not a database|malformed/i.test(said)) return { verdict: "not-a-database", detail };
  return { verdict: "unreadable", detail: detail || `sqlite3 exit ${run.exitCode}` };
}

/** True when a probe tells exim could not use the database (missing is fine: the rule skips itself; without root nothing is known). */
export function unusable(probe: DbProbe): probe is Extract<DbProbe, { detail: string }> {
  return probe.verdict !== "usable" && probe.verdict !== "missing" && probe.verdict !== "not-root";
}
