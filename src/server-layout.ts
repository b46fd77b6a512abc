/**
 * Facts of the Sympl world (docs/sympl.md): where each app keeps its
 * trees and Makefiles, and which file names the Makefile builds in.
 * Paths here are the server's own paths; the System maps them under --root.
 */
import { childPath, serverPath } from "./paths.js";
import type { ServerPath } from "./paths.js";

/**
 * The Spamhaus key file (ch10): outside both snippet trees, so neither they
 * nor the built config hold the key; 35-spamhaus-key includes it as
 * `ETC_DIR/exim4/spamhaus-key` (Sympl's ETC_DIR is /etc).
 */
export const SPAMHAUS_KEY_PATH = serverPath("/etc/exim4/spamhaus-key");

/**
 * A line defining the key, in the key file or in a snippet of an earlier
 * release (35-spamhaus-key held the key itself): a file with one is a
 * secret, whose bytes, size and hash no output may carry.
 */
export const KEY_DEFINE = /^\s*SPAMHAUS_DQ_KEY\s*=\s*\S/m;

/** The group Debian's exim4 runs as: the key file's group, so exim may read it. */
export const EXIM_GROUP = "Debian-exim";

/** The two daemons Sympl assembles from snippets. */
export const APPS = ["exim4", "dovecot"] as const;
export type App = (typeof APPS)[number];

/** The two snippet trees a Makefile can read. */
export type Mode = "local" | "sympl";

/** Where the tool keeps its own state: never inside a snippet tree. */
export const STATE_DIR = serverPath("/var/lib/makefilecheck");

/** Where systemd looks for the units an admin adds: the upgrade trigger's (`hooks --install`). */
export const UNIT_DIR = serverPath("/etc/systemd/system");

/** Where apt reads its configuration parts: the upgrade trigger's apt hook. */
export const APT_CONF_DIR = serverPath("/etc/apt/apt.conf.d");

/** Where Debian's prometheus-node-exporter reads `*.prom` files from (its textfile collector). */
export const TEXTFILE_DIR = serverPath("/var/lib/prometheus/node-exporter");

/** Where the caches of reading commands go (drift's stat cache, the built verdict): the one place a reading command writes. */
export const CACHE_DIR = childPath(STATE_DIR, "cache");

/** Every path of one app's setup. */
export interface AppPaths {
  app: App;
  dir: ServerPath;
  upstream: ServerPath;
  local: ServerPath;
  /** The packaged Makefile: a plain file, byte for byte the text dpkg recorded. */
  makefile: ServerPath;
  /** The link that selects the tree: GNU make reads it before `Makefile` (docs/sympl.md). */
  gnumakefile: ServerPath;
  makefileLocal: ServerPath;
  makefileSympl: ServerPath;
  conf: ServerPath;
}

const ETC = serverPath("/etc");

/** The paths of `app`'s setup under /etc. */
export function appPaths(app: App): AppPaths {
  const dir = childPath(ETC, app);
  return {
    app,
    dir,
    upstream: childPath(dir, "sympl.d"),
    local: childPath(dir, "sympl-local.d"),
    makefile: childPath(dir, "Makefile"),
    gnumakefile: childPath(dir, "GNUmakefile"),
    makefileLocal: childPath(dir, "Makefile.local"),
    makefileSympl: childPath(dir, "Makefile.sympl"),
    conf: childPath(dir, `${app}.conf`),
  };
}

/** The Makefile variant that reads each tree. */
export function variantPath(app: App, mode: Mode): ServerPath {
  const p = appPaths(app);
  return mode === "local" ? p.makefileLocal : p.makefileSympl;
}

/** The snippet tree each mode builds from. */
export function snippetDir(app: App, mode: Mode): ServerPath {
  const p = appPaths(app);
  return mode === "local" ? p.local : p.upstream;
}

/**
 * The Makefile's own rule for a snippet's basename (`find -regex
 * '.*\/[a-z0-9][a-z0-9-]\+'`): a dot or underscore anywhere keeps a file
 * (`x.dpkg-dist`, `x.sympl-new`) out of the config.
 */
export function isSnippetName(name: string): boolean {
  return /^[a-z0-9][a-z0-9-]+$/.test(name);
}

/** dovecot's certificate map, rewritten by Sympl at run time: a link in the local tree. */
export const LINKED_SNIPPETS: Record<App, readonly string[]> = {
  exim4: [],
  dovecot: ["10-main/60-sni"],
};

/** The daemon binary whose config test guards every switch to a tree. */
export const DAEMON_BINARY: Record<App, string> = {
  exim4: "/usr/sbin/exim4",
  dovecot: "/usr/sbin/dovecot",
};

/** Parses an app name from the command line. */
export function isApp(name: string): name is App {
  return (APPS as readonly string[]).includes(name);
}

/** Where each daemon keeps its pid: a running daemon keeps the config it read at start or reload. */
export const DAEMON_PID_FILE: Record<App, ServerPath> = {
  exim4: serverPath("/run/exim4/exim.pid"),
  dovecot: serverPath("/run/dovecot/master.pid"),
};

/** dovecot's master hands its config to a `config` child, started afresh by a reload. */
export const DAEMON_CONFIG_HELPER: Record<App, string | null> = {
  exim4: null,
  dovecot: "config",
};

/** How an admin has a running daemon read its built config again (Debian's way, honouring policy-rc.d). */
export function reloadCommand(app: App): string {
  return `invoke-rc.d ${app} reload`;
}

/** Where every mutating run appends one line per change it made (rotated by packaging/makefilecheck.logrotate). */
export const ACTION_LOG = serverPath("/var/log/makefilecheck.log");

/**
 * The directories outside the app trees that our atomic writes reach, so
 * where a run that dies leaves temp files: each with whether the
 * directories below it count too. The next mutating run cleans them,
 * doctor reports them.
 */
export const WRITTEN_DIRS: ReadonlyArray<{ dir: ServerPath; deep: boolean }> = [
  { dir: STATE_DIR, deep: true },
  { dir: serverPath("/var/log"), deep: false },
  { dir: APT_CONF_DIR, deep: false },
  { dir: UNIT_DIR, deep: true },
];

/**
 * The directories the tool reads and writes below, or their parents:
 * under --root, a symlink on the way to any of them would lead outside
 * the root, so such a root is refused before anything is read.
 */
export const ROOTED_DIRS: readonly ServerPath[] = [
  ...APPS.map((app) => appPaths(app).dir),
  STATE_DIR,
  serverPath("/var/log"),
  APT_CONF_DIR,
  UNIT_DIR,
  serverPath("/usr/lib/systemd/system"),
  serverPath("/usr/local/var/lib"),
  serverPath("/run"),
];
