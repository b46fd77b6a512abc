/**
 * What doctor reads from a daemon's config: the text the live tree builds
 * (what is installed) and the built file (what runs), the macros exim
 * defines, and the files exim pulls in with `.include`. Pure text work
 * here besides reading the files through the read-only System.
 */
import { UserError } from "../errors.js";
import type { App, Mode } from "../server-layout.js";
import { appPaths } from "../server-layout.js";
import { assembleConfig } from "../tree/configtest.js";
import { observe } from "../makefilecheck/observe.js";
import { detectProfile } from "../makefilecheck/profile.js";
import type { Reader } from "../system/system.js";
import { serverPath } from "../paths.js";

/** One app's config as doctor sees it. */
export interface AppConfig {
  app: App;
  /** False when /etc/APP or its sympl.d is missing: nothing of the app to check. */
  present: boolean;
  /** The tree the live Makefile builds from; null when that cannot be told. */
  live: Mode | null;
  /** The tree the admin chose (recorded, else the Makefile link's): the one that should be in force. */
  chosen: Mode | null;
  /** The config the live tree assembles to, with every `.include` file's text appended; "" when unknown. */
  liveText: string;
  /** The built config (`/etc/APP/APP.conf`), null when there is none. */
  builtText: string | null;
}

/** Reads `app`'s live and built config through `sys`. */
export function readAppConfig(sys: Reader, app: App): AppConfig {
  const p = appPaths(app);
  const present = sys.stat(p.dir)?.type === "dir" && sys.stat(p.upstream)?.type === "dir";
  const { live, chosen } = present ? modes(sys, app) : { live: null, chosen: null };
  const built = sys.stat(p.conf)?.type === "file" ? sys.readFile(p.conf).toString("utf8") : null;
  const liveText = live ? withIncludes(sys, assembleConfig(sys, app, live)) : "";
  return { app, present, live, chosen, liveText, builtText: built === null ? null : withIncludes(sys, built) };
}

/** The tree the live Makefile builds from and the chosen one; null where the setup says nothing (`status` tells why). */
function modes(sys: Reader, app: App): { live: Mode | null; chosen: Mode | null } {
  try {
    const det = detectProfile(observe(sys, app));
    return { live: det.live, chosen: det.profile === "fatal" ? null : det.mode };
  } catch (err) {
    if (err instanceof UserError) return { live: null, chosen: null };
    throw err;
  }
}

/** The lines of an exim config that exim reads: comment and blank lines dropped. */
export function activeLines(text: string): string[] {
  return text.split("\n").filter((line) => !/^\s*(#|$)/.test(line));
}

/**
 * `text` followed by the files its `.include` and `.include_if_exists`
 * lines name (one level: ch10's key file is included that way, as
 * `ETC_DIR/exim4/spamhaus-key`), read under the root; a missing file adds
 * nothing. Macros defined above the line are replaced in its file name,
 * as exim does; the file is read, never run.
 */
function withIncludes(sys: Reader, text: string): string {
  const extra: string[] = [];
  for (const m of text.matchAll(/^\.include(?:_if_exists)?[ \t]+(\S+)[ \t]*$/gm)) {
    const macros = eximMacros(activeLines(text.slice(0, m.index)).join("\n"));
    const path = m[1]!.replace(/[A-Z][A-Za-z0-9_]*/g, (name) => macros.get(name) ?? name);
    if (!path.startsWith("/") || path.split("/").includes("..")) continue;
    const at = serverPath(path);
    if (sys.stat(at)?.type === "file") extra.push(sys.readFile(at).toString("utf8"));
  }
  return [text, ...extra].join("\n");
}

/**
 * exim's macro definitions (`NAME = value`, NAME starting with a capital
 * letter); the last one wins, as when exim reads them in order.
 */
export function eximMacros(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^([A-Z][A-Za-z0-9_]*)\s*==?\s*(.*?)\s*$/gm)) out.set(m[1]!, m[2]!);
  return out;
}
