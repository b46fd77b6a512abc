/**
 * Whether the daemon installed here can run Sympl's tree at all. dovecot
 * 2.4 (Debian trixie) refuses a 2.3-era config outright ("The first setting
 * must be dovecot_config_version"), and renamed many settings, so Sympl's
 * dovecot tree, and the changes written into it, cannot work there until
 * Sympl ships a tree for 2.4 (docs/sympl.md, "dovecot 2.4").
 */
import type { App } from "../server-layout.js";
import { DAEMON_BINARY, appPaths } from "../server-layout.js";
import type { Reader } from "../system/system.js";
import { UserError } from "../errors.js";
import { assembleConfig } from "./configtest.js";

/** The setting a dovecot 2.4 config must open with; a tree written for 2.4 has it. */
const CONFIG_VERSION_SETTING = /^\s*dovecot_config_version\s*=/m;

/** The release `dovecot --version` names (`2.4.1` of `2.4.1 (abc123)`), or null when it cannot be asked. */
export async function dovecotVersion(sys: Reader): Promise<string | null> {
  const run = await sys.run(DAEMON_BINARY.dovecot, ["--version"], { timeoutMs: 10_000 });
  const m = /^(\d+\.\d+[\w.+~-]*)/.exec(run.stdout.trim());
  return run.exitCode === 0 && m ? m[1]! : null;
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
export async function treeMisfit(sys: Reader, app: App): Promise<string | null> {
  if (app !== "dovecot") return null;
  const version = await dovecotVersion(sys);
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
