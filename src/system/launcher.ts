/**
 * Where this makefilecheck is installed on the host, for files that must
 * call it later (the apt and systemd triggers). Read from the host, never
 * under --root: the running program is the one the triggers will run.
 */
import { existsSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Where the Debian package and `npm install -g` put the command. */
const LINKED_BINARIES = ["/usr/bin/makefilecheck", "/usr/local/bin/makefilecheck"];

function realOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/**
 * `/usr/bin/makefilecheck` or `/usr/local/bin/makefilecheck` when that link
 * leads to the running launcher (the path survives a reinstall elsewhere),
 * else the launcher's real absolute path; null when it cannot be told (not
 * started from bin/).
 */
export function installedBinary(launcher: string | undefined = process.argv[1]): string | null {
  const real = launcher ? realOrNull(launcher) : null;
  if (!real) return null;
  return LINKED_BINARIES.find((linked) => realOrNull(linked) === real) ?? real;
}

/**
 * This package's own `bin/makefilecheck`, for running a command of the same
 * CLI as a child process (the watcher's rounds); null when it is not there.
 * Found beside this module: the built CLI is bundled into `dist/` (the
 * launcher is `../bin`), the sources tests run sit in `src/system/`
 * (`../../bin`). Not process.argv[1]: a test calling a command directly
 * runs under vitest, not the launcher.
 */
export function ownLauncher(): string | null {
  for (const rel of ["../bin/makefilecheck", "../../bin/makefilecheck"]) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  return null;
}
