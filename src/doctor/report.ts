/**
 * What `doctor` says: one verdict per check, grouped per app plus a
 * `system` entry, and the human lines and exit code that follow from them.
 * The check ids are a contract (`doctor --json`, listed in the README).
 */
import type { ExitCode } from "../errors.js";
import { Exit } from "../errors.js";

/** Every check doctor may run, by its stable id. */
export const CHECK_IDS = [
  "firewall-db",
  "resolver-ptr",
  "dnsbl-spamhaus",
  "dnsbl-spamhaus-dbl",
  "dnsbl-spamhaus-dqs",
  "dnsbl-spamcop",
  "dnsbl-barracuda",
  "exim-lookups",
  "config-test",
  "dovecot-ports",
  "triggers",
  "leftovers",
  "journal",
  "baseline",
  "saved-size",
  "built-config",
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

/** ok: nothing to do; warn: worth a look, exit 0; fail: something the changes need is broken, exit 1. */
export type Status = "ok" | "warn" | "fail";

/** One check's verdict. `fix` is the one line that puts a warn or fail right. */
export interface Verdict {
  id: CheckId;
  status: Status;
  message: string;
  fix?: string;
}

/** A verdict that needs no fix. */
export function ok(id: CheckId, message: string): Verdict {
  return { id, status: "ok", message };
}

/** A verdict worth a look that does not fail the run. */
export function warn(id: CheckId, message: string, fix: string): Verdict {
  return { id, status: "warn", message, fix };
}

/** A verdict that fails the run. */
export function fail(id: CheckId, message: string, fix: string): Verdict {
  return { id, status: "fail", message, fix };
}

/** The exit code of a run: 1 when any check failed, else 0 (warnings allowed). */
export function exitCode(verdicts: Verdict[]): ExitCode {
  return verdicts.some((v) => v.status === "fail") ? Exit.actionNeeded : Exit.ok;
}

/** Ids padded to the longest, so every entry's messages line up. */
const ID_WIDTH = Math.max(...CHECK_IDS.map((id) => id.length));

const LABEL: Record<Status, string> = { ok: "ok  ", warn: "WARN", fail: "FAIL" };

/** The human lines of one entry's verdicts: status, id, message, and the fix below a problem. */
export function verdictLines(verdicts: Verdict[]): string[] {
  const width = ID_WIDTH;
  const lines: string[] = [];
  for (const v of verdicts) {
    lines.push(`  ${LABEL[v.status]}  ${v.id.padEnd(width)}  ${v.message}`);
    if (v.fix) lines.push(`        ${" ".repeat(width)}  fix: ${v.fix}`);
  }
  return lines;
}

/** The last line: how many checks failed or warned, or that all passed. */
export function summaryLine(verdicts: Verdict[]): string {
  const fails = verdicts.filter((v) => v.status === "fail").length;
  const warns = verdicts.filter((v) => v.status === "warn").length;
  if (!verdicts.length) return "doctor: nothing of makefilecheck's here to check";
  if (!fails && !warns) return `doctor: all ${verdicts.length} checks passed`;
  return `doctor: ${fails} failed, ${warns} to look at, ${verdicts.length - fails - warns} passed`;
}
