/**
 * Mail to root from runs a trigger started (docs/sympl.md, "Telling the
 * admin"): under unattended-upgrades nobody reads the terminal. Each
 * problem line is mailed once, until a run no longer finds it (then it is
 * forgotten, and mailed again should it come back). The recipient is set
 * in /etc/makefilecheck/mail, a file of `key = value` lines that is read,
 * never run.
 */
import { apply, withLock } from "../context.js";
import type { Context } from "../context.js";
import { InputError, problem, UserError } from "../errors.js";
import type { App } from "../server-layout.js";
import { STATE_DIR } from "../server-layout.js";
import type { Reader } from "../system/system.js";
import { childPath, serverPath } from "../paths.js";

/** The admin's mail settings. */
export const MAIL_CONFIG = serverPath("/etc/makefilecheck/mail");
/** The problems already mailed, one line each (0600: they may name paths of the admin's). */
export const MAILED = childPath(STATE_DIR, "mailed.json");

/** Where mail goes, or null when the admin turned it off. */
export interface MailSettings {
  to: string | null;
  sendmail: string;
}

const DEFAULTS: MailSettings = { to: "root", sendmail: "/usr/sbin/sendmail" };
// A local user (root) or user@domain: nothing a mail header or sendmail's argv could read otherwise.
const ADDRESS = /^[A-Za-z0-9._%+-]+(@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*)?$/;
const PLAIN_PATH = /^\/[A-Za-z0-9._+/-]+$/;

/** Parses the mail settings file's text; throws a UserError naming the line. Pure. */
export function parseMailSettings(text: string): MailSettings {
  const out = { ...DEFAULTS };
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const m = /^([a-z]+)\s*=\s*(\S*)$/.exec(line);
    const bad = (what: string, fix: string): never => {
      throw new InputError(problem(MAIL_CONFIG, `line ${i + 1}: ${what}`, fix));
    };
    if (!m) bad("not a `key = value` line", "write `mailto = root` (or an address, or off) and, if needed, `sendmail = /usr/sbin/sendmail`");
    const [, key, value] = m!;
    if (key === "mailto") {
      if (value === "off") out.to = null;
      else if (ADDRESS.test(value!)) out.to = value!;
      else bad(`\`${value}\` is not a mail address`, "give a local user such as root, user@example.org, or off");
    } else if (key === "sendmail") {
      if (!PLAIN_PATH.test(value!) || value!.split("/").includes("..")) bad(`\`${value}\` is not a plain absolute path`, "give the path of sendmail, e.g. /usr/sbin/sendmail");
      out.sendmail = value!;
    } else {
      bad(`unknown key \`${key}\``, "the keys are mailto and sendmail");
    }
  });
  return out;
}

/** A mail settings file is two lines; more is not one. */
const MAIL_CONFIG_MAX_BYTES = 4096;

/** The settings on this server: the defaults when the file is absent; never read through a link, a FIFO or a device. */
function readSettings(sys: Reader): MailSettings {
  const got = sys.readSmallFile(MAIL_CONFIG, MAIL_CONFIG_MAX_BYTES);
  if (!("refused" in got)) return parseMailSettings(got.data.toString("utf8"));
  if (got.refused === "missing") return DEFAULTS;
  throw new InputError(problem(MAIL_CONFIG, `not a regular file of at most ${MAIL_CONFIG_MAX_BYTES} bytes (${got.refused})`, "make it a file of `key = value` lines, or remove it"));
}

/** The problems mailed before; an unreadable record counts as none (mailing twice beats never). */
function readMailed(sys: Reader): string[] {
  if (sys.stat(MAILED)?.type !== "file") return [];
  try {
    const raw = JSON.parse(sys.readFile(MAILED).toString("utf8")) as { mailed?: unknown };
    return Array.isArray(raw.mailed) ? raw.mailed.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

/** The mail itself, headers and body. */
function message(to: string, hostname: string, apps: App[], fresh: string[]): string {
  return [
    `To: ${to}`,
    `Subject: makefilecheck on ${hostname}: ${apps.join(", ")} need${apps.length === 1 ? "s" : ""} you after a package run`,
    "Auto-Submitted: auto-generated",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "makefilecheck ran from its package trigger, with nobody at the terminal, and found",
    "what needs a person. Each line ends with its fix:",
    "",
    ...fresh.map((l) => `  ${l}`),
    "",
    "`makefilecheck status` shows the whole picture. You get one mail per problem,",
    "until a run finds it fixed; /etc/makefilecheck/mail sets where it goes (mailto = off stops it).",
    "",
  ].join("\n");
}

/** This server's name, as its /etc/hostname says. */
function hostnameOf(sys: Reader): string {
  const path = serverPath("/etc/hostname");
  const name = sys.stat(path)?.type === "file" ? sys.readFile(path).toString("utf8").trim() : "";
  return /^[A-Za-z0-9.-]+$/.test(name) ? name : "this server";
}

/**
 * Mails the problems not mailed yet and records them, forgetting those no
 * longer found. Returns the lines to show: what was mailed to whom, or why
 * no mail could go (a problem of its own, never an abort of the trigger).
 */
export async function mailProblems(ctx: Context, apps: App[], problems: string[]): Promise<string[]> {
  const before = readMailed(ctx.sys);
  const current = [...new Set(problems)];
  const fresh = current.filter((l) => !before.includes(l));
  const keep = before.filter((l) => current.includes(l));
  let said: string[] = [];
  let mailed = keep;
  if (fresh.length) {
    try {
      const settings = readSettings(ctx.sys);
      if (settings.to === null) return [];
      const input = message(settings.to, hostnameOf(ctx.sys), apps, fresh);
      await withLock(ctx, () => apply(ctx, "mail", [{ op: "run", cmd: settings.sendmail, args: ["-t", "-oi"], cwd: serverPath("/"), why: `tell ${settings.to}`, input }]));
      said = [`mailed ${settings.to}: ${fresh.length} problem${fresh.length === 1 ? "" : "s"} that need${fresh.length === 1 ? "s" : ""} a person`];
      mailed = [...keep, ...fresh];
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      return [`${err.message} (so root was not mailed the lines above; set \`sendmail =\` in ${MAIL_CONFIG} if it lives elsewhere)`];
    }
  }
  if (mailed.length !== before.length || mailed.some((l, i) => l !== before[i])) {
    const data = Buffer.from(`${JSON.stringify({ mailed }, null, 2)}\n`);
    await withLock(ctx, () => apply(ctx, "mail", [{ op: "write", path: MAILED, data, mode: 0o600, why: "what was mailed, so it is mailed once" }]));
  }
  return said;
}
