/**
 * The verdict of the monitoring-plugin mode (`makefilecheck monitor`), as
 * Nagios, Icinga and their kin read it: one state, the worst any finding
 * has, one line saying why, and perfdata. Pure: the facts come in as the
 * documents `status` and `changes` give (their --json), see command.ts.
 * The states and what puts a server in each are in the README
 * ("Monitoring").
 */
import type { App } from "../server-layout.js";

/** The plugin states, by exit code (monitoring-plugins guidelines). */
export const PLUGIN_STATES = ["OK", "WARNING", "CRITICAL", "UNKNOWN"] as const;
export type PluginState = (typeof PLUGIN_STATES)[number];

/** The parts of `status --json`'s app entry the verdict reads. */
export interface StatusView {
  app: App;
  profile: string;
  damage: string | null;
  problem: string | null;
  drift: { counts: Record<string, number>; problem?: string } | null;
  built: { state: string; daemon: string; reload: string } | null;
  builtProblem?: string;
  linked?: string[];
  /** Why Sympl's own tree cannot run on this server's daemon (dovecot 2.4): the changes wait on Sympl, not on the admin. */
  misfit?: string;
}

/** One change of `changes --json`'s app entry. */
export interface ChangeView {
  id: string;
  state: string;
  inForce: boolean | null;
  waiting?: string;
}

/** Everything the verdict looks at for one app. */
export interface AppFacts {
  status: StatusView;
  changes: ChangeView[];
  /** Seconds since the built config was written; null when there is none. */
  builtAgeS: number | null;
}

/** The last mutating run (a trigger's, or one by hand), as recorded by last-run.ts. */
export interface LastRun {
  command: string;
  /** When it ended, ISO 8601. */
  time: string;
  exit: number;
  /** What needed a person, when it did not exit 0 (its error, or its first problem line: a refused config test, a conflict). */
  message?: string;
}

/** Everything the verdict looks at. */
export interface Facts {
  apps: AppFacts[];
  /** Whether some upgrade trigger (the package's dpkg trigger, apt hook, systemd unit, watcher) is in place. */
  trigger: boolean;
  lastRun: LastRun | null;
}

/** One thing the verdict found, with the state it puts the server in. */
export interface Finding {
  state: PluginState;
  text: string;
}

/** The plugin's verdict. */
export interface Health {
  state: PluginState;
  /** The exit code the state has (0–3). */
  code: 0 | 1 | 2 | 3;
  findings: Finding[];
  /** The one line: `MAKEFILECHECK STATE - what | perfdata`. */
  line: string;
}

/** Drift states that mean upstream moved and a sync would bring it in. */
const UPSTREAM_DRIFT = ["upstream-modified", "upstream-added", "upstream-deleted"];
/** Drift states that need a person: a merge that failed, or a file no baseline explains; `waiting` counts `.sympl-new` files. */
const CONFLICT_DRIFT = ["conflict", "diverged", "waiting"];

/** How many files of `drift` are in any of `states`. */
export function driftCount(drift: StatusView["drift"], states: string[]): number {
  return states.reduce((n, s) => n + (drift?.counts[s] ?? 0), 0);
}

/** The conflicts of an app: files a sync could not settle. */
export function conflicts(a: AppFacts): number {
  return driftCount(a.status.drift, CONFLICT_DRIFT);
}

/** True when the app builds from the chosen tree and the running daemon has read what it built. */
export function inForce(s: StatusView): boolean {
  return (s.profile === "local" || s.profile === "sympl") && !s.problem && s.built?.state === "current" && s.built.reload === "no" && s.built.daemon === "running";
}

/** What one app's facts say, worst first within the app. */
function appFindings(a: AppFacts): Finding[] {
  const s = a.status;
  const out: Finding[] = [];
  const say = (state: PluginState, text: string) => out.push({ state, text: `${s.app}: ${text}` });
  if (s.profile === "fatal") {
    say("UNKNOWN", `cannot tell: ${s.problem ?? "the setup is not usable"}`);
    return out;
  }
  if (s.misfit) say("WARNING", `changes waiting: ${s.misfit}`);
  else if (s.profile === "vanilla" || s.profile === "caninstall") say("CRITICAL", `changes not in force (${s.profile}: Sympl's own tree is live)`);
  else if (s.problem) say("CRITICAL", `${s.damage ? "damage" : "problem"}: ${s.problem}`);
  for (const l of s.linked ?? []) say("CRITICAL", `broken link: ${l}`);
  const conflicted = conflicts(a);
  if (conflicted) say("CRITICAL", `${conflicted} conflict(s) in sympl-local.d`);
  if (s.drift?.problem) say("UNKNOWN", `drift not read: ${s.drift.problem}`);
  if (s.builtProblem) say("UNKNOWN", `built config not read: ${s.builtProblem}`);
  const b = s.built;
  if (b && b.state !== "current") say("CRITICAL", `changes not in force: built config ${b.state}`);
  if (b?.reload === "needed") say("CRITICAL", "changes not in force: the running daemon has not read the built config");
  if (b?.daemon === "stopped") say("WARNING", "daemon not running");
  if (b && (b.daemon === "unknown" || b.reload === "unknown")) say("UNKNOWN", "cannot tell whether the daemon has read the built config");
  const upstream = driftCount(s.drift, UPSTREAM_DRIFT);
  if (upstream) say("WARNING", `drift waiting: ${upstream} upstream change(s) to sync`);
  for (const c of a.changes) if (c.state === "waiting") say("WARNING", `${c.id} waiting: ${c.waiting ?? "on something outside makefilecheck"}`);
  return out;
}

/** Rank of a state: the worst wins. OK < WARNING < UNKNOWN < CRITICAL, as monitoring-plugins rank them. */
const RANK: Record<PluginState, number> = { OK: 0, WARNING: 1, UNKNOWN: 2, CRITICAL: 3 };

/** Perfdata: per app, drift counts, changes installed, seconds since the built config was written. */
export function perfdata(facts: Facts): string {
  const parts: string[] = [];
  for (const a of facts.apps) {
    const d = a.status.drift;
    const local = Object.entries(d?.counts ?? {}).filter(([k]) => k.startsWith("local-")).reduce((n, [, v]) => n + v, 0);
    parts.push(`${a.status.app}_drift_upstream=${driftCount(d, UPSTREAM_DRIFT)};;;0`, `${a.status.app}_drift_conflict=${conflicts(a)};;;0`, `${a.status.app}_drift_local=${local};;;0`);
    parts.push(`${a.status.app}_changes_installed=${a.changes.filter((c) => c.state === "installed").length};;;0;${a.changes.length}`);
    if (a.builtAgeS !== null) parts.push(`${a.status.app}_built_age=${a.builtAgeS}s;;;0`);
  }
  return parts.join(" ");
}

/** The verdict on `facts`: every finding, the worst state, and the plugin's line. */
export function health(facts: Facts): Health {
  const findings = facts.apps.flatMap(appFindings);
  if (!facts.trigger && facts.apps.some((a) => a.status.profile === "local")) findings.push({ state: "WARNING", text: "no upgrade trigger (makefilecheck hooks --install)" });
  const run = facts.lastRun;
  if (run && run.exit !== 0) findings.push({ state: "CRITICAL", text: `last run failed (${run.command} at ${run.time}, exit ${run.exit})${run.message ? `: ${run.message}` : ""}` });
  findings.sort((x, y) => RANK[y.state] - RANK[x.state]);
  const state = findings[0]?.state ?? "OK";
  const said = findings.length ? findings.map((f) => f.text).join("; ") : `${facts.apps.map((a) => a.status.app).join(", ")}: changes in force, built config current and read by the running daemon`;
  const perf = perfdata(facts);
  return { state, code: PLUGIN_STATES.indexOf(state) as Health["code"], findings, line: `MAKEFILECHECK ${state} - ${oneLine(said)}${perf ? ` | ${perf}` : ""}` };
}

/** Text for the status line: no newline, no `|` (it starts perfdata). */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ").replace(/\|/g, "/");
}
