/**
 * The checks that ask the daemons themselves: whether this exim4 has every
 * lookup type the config uses (`exim-lookups`: `exim4 -bV` does not
 * expand the config, so a missing lookup only shows when mail comes in),
 * whether the live tree passes the daemon's config test (`config-test`),
 * and whether ch2's private IMAP ports are free or dovecot's
 * (`dovecot-ports`, from the kernel's socket tables), and whether the built config is the chosen tree's
 * and read by the running daemon (`built-config`).
 */
import type { App, Mode } from "../server-layout.js";
import { DAEMON_BINARY, appPaths, reloadCommand, snippetDir } from "../server-layout.js";
import type { Reader } from "../system/system.js";
import { tcpListeners } from "../system/ports.js";
import { builtReport } from "../built/read.js";
import { refusalWords, runConfigTest } from "../tree/configtest.js";
import { treeMisfit } from "../tree/daemon-release.js";
import { activeLines } from "./config.js";
import type { Verdict } from "./report.js";
import { fail, ok, warn } from "./report.js";

/** Every lookup type exim knows, by the name a config uses. */
const LOOKUP_TYPES = new Set([
  "cdb", "dbm", "dbmjz", "dbmnz", "dnsdb", "dsearch", "ibase", "iplsearch", "json", "ldap", "ldapdn", "ldapm",
  "lmdb", "lsearch", "mysql", "nis", "nis0", "nisplus", "nwildlsearch", "oracle", "passwd", "pgsql", "psl",
  "readsock", "redis", "spf", "sqlite", "testdb", "whoson", "wildlsearch",
]);

/** Skips a balanced `{...}` starting at `at`; returns the index after it. */
function skipBraces(text: string, at: number): number {
  let depth = 0;
  for (let i = at; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) return i + 1;
  }
  return text.length;
}

/**
 * The lookup types an exim config uses: `${lookup TYPE{query}}`,
 * `${lookup{key} TYPE{file}}` (with `partial-` and `*@` forms) and list
 * items `TYPE;file`. Comment lines are left out.
 */
export function lookupTypes(configText: string): Set<string> {
  const text = activeLines(configText).join("\n");
  const found = new Set<string>();
  const typeAt = (from: number) => /^\s*(?:partial\d*-)?([a-z][a-z0-9]*)/.exec(text.slice(from, from + 40))?.[1];
  for (const m of text.matchAll(/\$\{lookup\b/g)) {
    let at = m.index + m[0].length;
    while (/\s/.test(text[at] ?? "")) at++;
    const type = text[at] === "{" ? typeAt(skipBraces(text, at)) : typeAt(at);
    if (type && LOOKUP_TYPES.has(type)) found.add(type);
  }
  for (const m of text.matchAll(/(?:^|[\s:=!+])(?:net\d*-)?(?:partial\d*-)?([a-z][a-z0-9]*)\*{0,1}@?(?:,[^;\s]*)?;/gm)) {
    if (LOOKUP_TYPES.has(m[1]!)) found.add(m[1]!);
  }
  return found;
}

/** The lookup types this exim4 is built with, from `exim4 -bV`; null when exim4 cannot be run. */
async function eximLookups(sys: Reader): Promise<Set<string> | null> {
  const run = await sys.run(DAEMON_BINARY.exim4, ["-bV", "-C", "/dev/null"], { timeoutMs: 10_000 });
  if (run.exitCode === 127) return null;
  const lines = run.stdout.split("\n").filter((l) => l.startsWith("Lookups"));
  return new Set(lines.flatMap((l) => l.slice(l.indexOf(":") + 1).trim().split(/\s+/)));
}

/** `exim-lookups`: every lookup type the live or built config uses is in this exim4. */
export async function checkEximLookups(sys: Reader, texts: string[]): Promise<Verdict> {
  const used = new Set(texts.flatMap((t) => [...lookupTypes(t)]));
  const available = await eximLookups(sys);
  if (!available) return warn("exim-lookups", `${DAEMON_BINARY.exim4} cannot be run here, so its lookups are unknown`, "apt-get install exim4-daemon-heavy");
  const missing = [...used].filter((t) => !available.has(t)).sort();
  if (missing.length) {
    const fix = missing.includes("sqlite") ? "apt-get install exim4-daemon-heavy (the light daemon has no sqlite lookups)" : `install an exim4 daemon built with ${missing.join(", ")} lookups, or take them out of the config`;
    return fail("exim-lookups", `the config uses ${missing.join(", ")} lookups, which this exim4 lacks: the rules using them defer mail`, fix);
  }
  return ok("exim-lookups", `this exim4 has every lookup the config uses (${[...used].sort().join(", ") || "none"})`);
}

/** `config-test`: the daemon accepts the config the live tree builds. */
export async function checkConfigTest(sys: Reader, app: App, live: Mode): Promise<Verdict> {
  const tree = snippetDir(app, live);
  // A daemon that cannot run Sympl's tree at all (dovecot 2.4): said plainly, with no command of ours to run.
  const misfit = treeMisfit(sys, app);
  // From sympl.d that is Sympl's matter (a warning); from sympl-local.d our changes ride on a tree this dovecot refuses (a failure).
  if (misfit) return (live === "sympl" ? warn : fail)("config-test", misfit, "no makefilecheck command can fix it: Sympl's dovecot tree needs a release for this dovecot");
  const result = await runConfigTest(sys, app, live);
  if (result.status === "passed") return ok("config-test", `${app} accepts the config built from ${tree}`);
  if (result.status === "skipped") return warn("config-test", `not run: ${result.output}`, `install ${app}, then run doctor again`);
  return fail("config-test", `${app} rejects the config built from ${tree}: ${refusalWords(result)}`, `fix the snippet it names; \`makefilecheck check -a ${app}\` shows the whole complaint`);
}

/** ch2's extra listeners in the live dovecot config, by listener name. */
export function privatePorts(configText: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of configText.matchAll(/inet_listener\s+(imaps?_extra)\s*\{[^}]*?\bport\s*=\s*(\d+)/g)) out.set(m[1]!, Number(m[2]));
  return out;
}

/** True when a holder is dovecot or one of its own processes. */
function isDovecot(holder: string): boolean {
  return /^(dovecot|imap-login)\b/.test(holder);
}

/** `dovecot-ports`: each of ch2's ports is free, or already dovecot's. */
export function checkDovecotPorts(ports: Map<string, number>): Verdict {
  const held = tcpListeners(ports.values());
  const list = [...ports.values()].join(" and ");
  if (!held) return warn("dovecot-ports", `cannot tell who listens on ${list}: /proc/net/tcp cannot be read`, "mount /proc (doctor reads who listens there), then run doctor again");
  for (const port of ports.values()) {
    const holders = held.get(port);
    if (!holders) continue;
    if (!holders.length) return warn("dovecot-ports", `port ${port} is in use, by a process doctor may not see`, "run makefilecheck doctor as root to see who holds it");
    const others = holders.filter((h) => !isDovecot(h));
    if (others.length) {
      return fail("dovecot-ports", `port ${port} is held by ${others.join(", ")}: dovecot cannot listen there and fails to start`, "choose other ports (AUTO_IMAP_PORT, AUTO_IMAPS_PORT) and run `makefilecheck install` again, or stop that program");
    }
  }
  return ok("dovecot-ports", `ports ${list} are free or dovecot's`);
}

/**
 * `built-config`: the config the daemon reads is what the chosen tree
 * builds to, and the running daemon has read it; otherwise the changes
 * on disk are not in force.
 */
export function checkBuiltConfig(sys: Reader, app: App, chosen: Mode): Verdict {
  const built = builtReport(sys, app, chosen);
  const conf = appPaths(app).conf;
  const tree = snippetDir(app, chosen);
  const make = `cd ${appPaths(app).dir} && make`;
  if (built.state === "missing") return fail("built-config", `${conf} is missing: nothing built from ${tree} is in force`, make);
  if (built.state === "stale") return fail("built-config", `${conf} was built from the other tree or from older snippets: ${tree} is not in force`, make);
  if (built.state === "differs") return warn("built-config", `${conf} was edited by hand since it was built`, `${make} (it replaces the hand edit)`);
  if (built.reload === "needed") return fail("built-config", `${conf} is current, but the running ${app} still runs the config it read before`, reloadCommand(app));
  const daemon = built.daemon === "running" ? `; the running ${app} has read it` : built.daemon === "stopped" ? `; ${app} is not running` : "";
  return ok("built-config", `${conf} is what ${tree} builds to${daemon}`);
}
