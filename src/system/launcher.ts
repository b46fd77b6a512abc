/**
 * Where this makefilecheck is installed on the host, for files that must
 * call it later (the apt and systemd triggers). Read from the host, never
 * under --root: the running program is the one the triggers will run.
 */
import { realpathSync } from "node:fs";

/** The conventional place `npm install -g` links the command to. */
export const LINKED_BINARY = "/usr/local/bin/makefilecheck";

function realOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/**
 * `/usr/local/bin/makefilecheck` when that link leads to the running
 * launcher (the path survives a reinstall elsewhere), else the launcher's
 * real absolute path; null when it cannot be told (not started from bin/).
 */
export function installedBinary(launcher: string | undefined = process.argv[1]): string | null {
  const real = launcher ? realOrNull(launcher) : null;
  if (!real) return null;
  return realOrNull(LINKED_BINARY) === real ? LINKED_BINARY : real;
}
