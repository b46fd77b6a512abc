/**
 * `makefilecheck doctor`: read-only checks of what the installed changes
 * need from the server around them. Each check runs only where it applies
 * to what is installed; checks of no one app go under a `system` entry,
 * which is always there (`-a` picks the app entries).
 */
import { isIP } from "node:net";
import { optionsOf } from "../args.js";
import type { AppReport, Args, CommandResult, Context } from "../context.js";
import { InputError, problem } from "../errors.js";
import type { App } from "../server-layout.js";
import { appPaths, snippetDir } from "../server-layout.js";
import { RESOLV_CONF, hostNameservers } from "../system/dns.js";
import { hostReader } from "../system/host.js";
import type { Reader } from "../system/system.js";
import { readAppConfig } from "./config.js";
import { checkBuiltConfig, checkConfigTest, checkDovecotPorts, checkEximLookups, privatePorts } from "./daemons.js";
import { DEFAULT_PTR_ADDRESS, checkDns, dnsUse } from "./dns.js";
import { checkFirewallDb, firewallSetup } from "./firewall.js";
import type { Verdict } from "./report.js";
import { exitCode, summaryLine, verdictLines } from "./report.js";
import { changesAtStake, checkBaseline, checkJournal, checkLeftovers, checkSavedSize, checkStateLeftovers, checkTriggers, findTriggers } from "./state.js";

/** One entry of the report: an app, or `system`. */
interface Entry {
  app: App | "system";
  /** What the entry's heading line adds (the node version, the tree an app builds from). */
  about: string;
  info: Record<string, unknown>;
  checks: Verdict[];
}

/** The checks of no one app. */
function systemEntry(sys: Reader): Entry {
  const checks: Verdict[] = [];
  if (changesAtStake(sys)) checks.push(checkTriggers(findTriggers(sys, hostReader())));
  for (const v of [checkJournal(sys), checkSavedSize(sys), checkStateLeftovers(sys)]) if (v) checks.push(v);
  const hostNote = sys.root === "/" ? "" : `; files under ${sys.root}, programs, users and resolver of this host`;
  const nameservers = hostNameservers();
  const resolver = `resolver ${nameservers.join(", ") || "none named"} (the host's ${RESOLV_CONF})`;
  return {
    app: "system",
    about: `node ${process.version}; ${resolver}${hostNote}`,
    info: { node: process.version, root: sys.root, resolver: { file: RESOLV_CONF, nameservers } },
    checks,
  };
}

/**
 * The entry of an app doctor has nothing to check for: not installed
 * (no /etc/APP), or installed without Sympl (no sympl.d), which is not
 * the same thing to an admin.
 */
function absentEntry(sys: Reader, app: App): Entry {
  const p = appPaths(app);
  if (sys.stat(p.dir)?.type !== "dir") return { app, about: "not installed here", info: { installed: false }, checks: [] };
  return { app, about: `no Sympl tree here (${p.upstream} missing): nothing of makefilecheck's to check`, info: { installed: true, sympl: false }, checks: [] };
}

/** The checks of one app, in the order of the README's list. */
async function appEntry(sys: Reader, app: App, ptrAddress: string): Promise<Entry> {
  const cfg = readAppConfig(sys, app);
  if (!cfg.present) return absentEntry(sys, app);
  const checks: Verdict[] = [];
  if (app === "exim4") {
    const firewall = firewallSetup(cfg.liveText);
    if (firewall) checks.push(await checkFirewallDb(sys, firewall));
    checks.push(...(await checkDns(dnsUse(cfg.liveText), ptrAddress)));
    checks.push(await checkEximLookups(sys, [cfg.liveText, cfg.builtText ?? ""]));
  } else {
    const ports = privatePorts(cfg.liveText);
    if (ports.size) checks.push(checkDovecotPorts(ports));
  }
  if (cfg.live) checks.push(await checkConfigTest(sys, app, cfg.live));
  if (cfg.chosen) checks.push(checkBuiltConfig(sys, app, cfg.chosen));
  checks.push(checkLeftovers(sys, app));
  const baseline = checkBaseline(sys, app);
  if (baseline) checks.push(baseline);
  const tree = cfg.live ? snippetDir(app, cfg.live) : null;
  return { app, about: tree ? `builds from ${tree}` : "live tree unknown (see makefilecheck status)", info: { installed: true, tree }, checks };
}

/** `doctor`: every check that applies, one verdict each; exit 1 when one failed. */
export async function doctor(ctx: Context, args: Args): Promise<CommandResult> {
  const ptrAddress = optionsOf("doctor", args)["ptr-for"] ?? DEFAULT_PTR_ADDRESS;
  if (!isIP(ptrAddress)) throw new InputError(problem(`--ptr-for ${ptrAddress}`, "not an IP address", "give an address outside your own ranges, e.g. 8.8.8.8"));
  const entries = [systemEntry(ctx.sys)];
  for (const app of ctx.apps) entries.push(await appEntry(ctx.sys, app, ptrAddress));
  const all = entries.flatMap((e) => e.checks);
  const lines = entries.flatMap((e) => [`${e.app}: ${e.about}`, ...verdictLines(e.checks)]);
  lines.push(summaryLine(all));
  const apps: AppReport[] = entries.map((e) => ({ app: e.app, ...e.info, checks: e.checks }));
  const problems = entries.flatMap((e) => e.checks.filter((v) => v.status !== "ok").map((v) => `${e.app}: ${v.id}: ${v.message} — ${v.fix}`));
  return { code: exitCode(all), apps, lines, problems };
}
