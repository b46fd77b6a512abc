/**
 * Whether the daemon installed here can run Sympl's tree at all. dovecot
 * 2.4 (Debian trixie) refuses a 2.3-era config outright ("The first setting
 * must be dovecot_config_version"), and renamed many settings, so Sympl's
 * dovecot tree, and the changes written into it, cannot work there until
 * Sympl ships a tree for 2.4 (docs/sympl.md, "dovecot 2.4").
 */
import type { App } from "../server-layout.js";
import { appPaths } from "../server-layout.js";
import { serverPath } from "../paths.js";
import type { Reader } from "../system/system.js";
import { UserError } from "../errors.js";
import { assembleConfig } from "./configtest.js";

/** The setting a dovecot 2.4 config must open with; a tree written for 2.4 has it. */
const CONFIG_VERSION_SETTING = /^\s*dovecot_config_version\s*=/m;

/** dpkg's record of every package installed (under --root, the root's). */
const DPKG_STATUS = serverPath("/var/lib/dpkg/status");

/**
 * The dovecot release installed, from dpkg's record of dovecot-core
 * (`1:2.4.1+dfsg1-4` is 2.4.1), or null when it is not installed or the
 * record cannot be read. Read rather than asked of `dovecot --version`:
 * status runs no program (docs/architecture.md, Budgets), and every
 * command asks the same way.
 */
export function dovecotVersion(sys: Reader): string | null {
  const record = sys.stat(DPKG_STATUS)?.type === "file" ? sys.readFile(DPKG_STATUS).toString("latin1") : "";
  const start = record.startsWith("Package: dovecot-core\n") ? 0 : record.indexOf("\nPackage: dovecot-core\n");
  if (start < 0) return null;
  const end = record.indexOf("\n\n", start + 1);
  const paragraph = record.slice(start, end < 0 ? undefined : end);
  if (!/^Status: install ok installed$/m.test(paragraph)) return null;
  return /^Version: (?:\d+:)?(\d+\.\d+[\d.]*)/m.exec(paragraph)?.[1] ?? null;
}

/** True for a dovecot release from 2.4 on. */
function from24(version: string): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major > 2 || (major === 2 && minor >= 4);
}

/**
 * Why `app`'s daemon cannot run Sympl's tree on this server, in plain
 * words, or null when it can (or cannot be asked). Only dovecot from 2.4
 * with a tree that lacks `dovecot_config_version` today.
 */
export function treeMisfit(sys: Reader, app: App): string | null {
  if (app !== "dovecot") return null;
  const version = dovecotVersion(sys);
  if (!version || !from24(version)) return null;
  try {
    if (CONFIG_VERSION_SETTING.test(assembleConfig(sys, app, "sympl"))) return null;
  } catch (err) {
    // A tree that cannot be read is said by status and doctor on their own.
    if (!(err instanceof UserError)) throw err;
    return null;
  }
  return `Sympl's dovecot tree (${appPaths(app).upstream}) is written for dovecot 2.3, and this server runs dovecot ${version}, which refuses it; the dovecot changes wait for a Sympl release for dovecot 2.4`;
}
