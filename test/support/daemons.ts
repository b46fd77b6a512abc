/**
 * Tests that need a real daemon binary skip with a visible reason where it
 * is missing, and fail instead when MAKEFILECHECK_REQUIRE_DAEMONS is set
 * (as .ci/run sets it).
 */
import { existsSync } from "node:fs";

/** Binaries the daemon-backed tests use, by short name. */
export const BINARIES = {
  exim4: "/usr/sbin/exim4",
  dovecot: "/usr/sbin/dovecot",
  doveconf: "/usr/bin/doveconf",
  dnsmasq: "/usr/sbin/dnsmasq",
  sqlite3: "/usr/bin/sqlite3",
  unshare: "/usr/bin/unshare",
  make: "/usr/bin/make",
  nodeExporter: "/usr/bin/prometheus-node-exporter",
} as const;

/**
 * Returns a reason to skip when a binary is missing, or null when all are
 * there. Throws (failing the test file) when CI requires the daemons.
 */
export function missingBinaries(...names: (keyof typeof BINARIES)[]): string | null {
  const missing = names.filter((n) => !existsSync(BINARIES[n]));
  if (missing.length === 0) return null;
  const reason = `needs ${missing.map((n) => BINARIES[n]).join(", ")} (apt-get install exim4-daemon-heavy dovecot-core dovecot-imapd sqlite3 dnsmasq-base prometheus-node-exporter)`;
  if (process.env.MAKEFILECHECK_REQUIRE_DAEMONS) throw new Error(`${reason}; MAKEFILECHECK_REQUIRE_DAEMONS is set, so this is a failure`);
  return reason;
}
