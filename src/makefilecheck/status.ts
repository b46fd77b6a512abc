/**
 * The reading commands of the Makefile manager: `status` (profile, mode,
 * damage, drift, the built config and the next step per app) and `report`.
 * Apart from the commands that write, so that `status`, which the admin
 * runs by hand, loads none of their planning (docs/architecture.md,
 * Budgets).
 */
import type { AppReport, Args, CommandResult, Context } from "../context.js";
import { UserError } from "../errors.js";
import type { ExitCode } from "../errors.js";
import type { App } from "../server-layout.js";
import { appPaths, LINKED_SNIPPETS, reloadCommand, snippetDir } from "../server-layout.js";
import type { DriftSummary } from "../sync/drift.js";
import { summarizeDrift } from "../sync/drift.js";
import type { BuiltReport } from "../built/read.js";
import { readBuilt, withDaemon } from "../built/read.js";
import { treeMisfit } from "../tree/daemon-release.js";
import { SYMPL_NEW } from "../tree/scan.js";
import { inTree, snippetPath } from "../paths.js";
import type { Reader, System } from "../system/system.js";
import { observe } from "./observe.js";
import type { Detection } from "./profile.js";
import { detectProfile, worstCode } from "./profile.js";
import { JOURNAL, PENDING_JOURNAL_FIX, pendingJournal } from "../plan.js";

/** The next command for an app, or null when there is nothing to do. */
function nextStep(det: Detection, drift: DriftSummary | null, built: BuiltReport | null): string | null {
  if (det.profile === "fatal") return "fix the problem above, then run `makefilecheck status`";
  if (det.repairNeeded) return "makefilecheck repair";
  if (det.profile === "unclear") return "makefilecheck use local (or use sympl) to choose the tree";
  if (det.profile === "vanilla") return "makefilecheck install";
  if (det.profile === "caninstall") return "makefilecheck use local";
  const settle = settleStep(det.app, drift);
  if (settle) return settle;
  if (drift?.problem) return "run makefilecheck as root (or fix what the drift line names), then `makefilecheck status`";
  if (drift?.actionNeeded) return "makefilecheck sync";
  if (built && built.state !== "current") return `cd ${appPaths(det.app).dir} && make`;
  if (built?.reload === "needed") return reloadCommand(det.app);
  return null;
}

/** How to settle what a sync could not: a waiting upstream version, or a file no baseline explains. */
function settleStep(app: App, drift: DriftSummary | null): string | null {
  const local = appPaths(app).local;
  const more = (n: number) => (n > 1 ? ` (and ${n - 1} more: \`makefilecheck drift\` lists them)` : "");
  const settle = (p: string) => `\`makefilecheck sync -a ${app} --keep-local ${p}\` or \`--take-upstream ${p}\``;
  const [waiting] = drift?.waiting ?? [];
  if (waiting) return `merge ${local}/${waiting}${SYMPL_NEW} into ${local}/${waiting} by hand and delete it, or ${settle(waiting)}${more(drift!.waiting!.length)}`;
  const [diverged] = drift?.diverged ?? [];
  if (diverged) return `\`makefilecheck diff ${diverged}\`, then ${settle(diverged)}${more(drift!.diverged!.length)}`;
  return null;
}

/** A linked snippet (dovecot's 60-sni) that became a directory in sympl-local.d: Sympl's rewrites no longer reach the config. */
function linkedSnippetProblems(sys: Reader, app: App): string[] {
  const p = appPaths(app);
  return LINKED_SNIPPETS[app]
    .filter((rel) => sys.stat(inTree(p.local, snippetPath(rel)))?.type === "dir")
    .map((rel) => `${p.local}/${rel} is a directory, not a link to ${p.upstream}/${rel}: Sympl's rewrites of it are not built in — move it aside, then \`makefilecheck sync -a ${app} --take-upstream ${rel}\``);
}

/** True when the built config or the running daemon keeps the chosen tree from being in force. */
export function notInForce(built: BuiltReport): boolean {
  return built.state !== "current" || built.reload === "needed";
}

/** What the built-config line says about each state. */
const BUILT_WORDS: Record<BuiltReport["state"], string> = {
  current: "current",
  stale: "STALE (built from the other tree or from older snippets: the chosen tree is not in force)",
  missing: "MISSING (nothing built: the chosen tree is not in force)",
  differs: "DIFFERS (edited by hand since it was built; make replaces it, makefilecheck keeps a copy when it rebuilds)",
};

/** The human lines of an app's built config and daemon. */
function builtLines(app: App, built: BuiltReport): string[] {
  const daemon = built.daemon === "running" ? `${app} running, ${built.reload === "needed" ? "RELOAD NEEDED (it still runs the config it read before)" : built.reload === "no" ? "has read it" : "cannot tell whether it has read it"}` : `${app} ${built.daemon}`;
  return [`  built: ${appPaths(app).conf}: ${BUILT_WORDS[built.state]}; ${daemon}`];
}

function describeDrift(drift: DriftSummary): string {
  if (drift.problem) return `NOT READ: ${drift.problem}`;
  const parts = Object.entries(drift.counts).map(([state, n]) => `${n} ${state}`);
  return parts.length ? parts.join(", ") : "clean";
}

/** What `status` finds for one app. */
interface AppFacts {
  det: Detection;
  drift: DriftSummary | null;
  /** The built config against the chosen tree, and the daemon; null before a tree is chosen. */
  built: BuiltReport | null;
  builtProblem: string | null;
  linked: string[];
}

/** Reads `app`'s facts, refreshing drift's stat cache through `caches` with what had settled by `scannedAt`. */
async function readFacts(sys: Reader, app: App, caches: System | undefined, scannedAt: number): Promise<AppFacts> {
  const det = detectProfile(observe(sys, app));
  const drift = det.profile === "fatal" ? null : await summarizeDrift(sys, app, caches, scannedAt);
  // Only once a tree is chosen is there a config that should be in force.
  const chosen = det.profile === "fatal" ? null : det.mode;
  let built: BuiltReport | null = null;
  let builtProblem: string | null = null;
  try {
    if (chosen) {
      const { verdict, builtMs } = readBuilt(sys, app, chosen);
      built = withDaemon(sys, app, verdict.state, builtMs);
    }
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    builtProblem = err.message;
  }
  const linked = det.profile === "fatal" ? [] : linkedSnippetProblems(sys, app);
  return { det, drift, built, builtProblem, linked };
}

/** `status`: profile, recorded mode, damage, drift and the next step per app. */
export async function status(ctx: Context, _args: Args): Promise<CommandResult> {
  const problems: string[] = [];
  const apps: AppReport[] = [];
  const lines: string[] = [];
  const codes: ExitCode[] = [];
  for (const app of ctx.apps) {
    const { det, drift, built, builtProblem, linked } = await readFacts(ctx.sys, app, ctx.caches, ctx.now().getTime());
    // Before install, whether the daemon can run Sympl's tree at all: install would hold it (dovecot 2.4), so it is no next step.
    const misfit = det.profile === "vanilla" || det.profile === "caninstall" ? treeMisfit(ctx.sys, app) : null;
    const next = linked.length ? `move ${appPaths(app).local}/${LINKED_SNIPPETS[app][0]} aside, then \`makefilecheck sync -a ${app} --take-upstream ${LINKED_SNIPPETS[app][0]}\`` : misfit ? null : nextStep(det, drift, built);
    const wrong = Boolean(drift?.actionNeeded || (built && notInForce(built)) || builtProblem || linked.length);
    codes.push(det.code === 0 && wrong ? 1 : det.code);
    apps.push({ app, profile: det.profile, recorded: det.recorded, live: det.live, damage: det.damage, legacy: det.legacy, problem: det.problem, drift, built, ...(builtProblem ? { builtProblem } : {}), ...(linked.length ? { linked } : {}), ...(misfit ? { misfit } : {}), next });
    const appProblems: string[] = [];
    lines.push(`${app}: ${det.profile} (recorded: ${det.recorded ?? "none"}, builds from: ${det.live ? snippetDir(app, det.live) : "unknown"})`);
    if (det.problem) lines.push(`  ${det.damage ? "damage" : "problem"}: ${det.problem}`);
    if (det.problem && det.code !== 0) appProblems.push(`${det.damage ? "damage" : "problem"}: ${det.problem}`);
    if (drift) lines.push(`  drift: ${describeDrift(drift)}`);
    if (drift?.actionNeeded) appProblems.push(`drift: ${describeDrift(drift)}`);
    for (const l of linked) lines.push(`  problem: ${l}`);
    appProblems.push(...linked);
    if (built) lines.push(...builtLines(app, built));
    if (built && notInForce(built)) appProblems.push(`built config ${built.state}, daemon ${built.daemon}, reload ${built.reload}: the chosen tree is not in force`);
    if (builtProblem) lines.push(`  built: NOT READ: ${builtProblem}`);
    if (builtProblem) appProblems.push(`built config not read: ${builtProblem}`);
    if (misfit) lines.push(`  not installable here: ${misfit}`);
    lines.push(`  next: ${next ?? "nothing to do"}`);
    problems.push(...appProblems.map((p) => `${app}: ${p}${next ? ` — next: ${next}` : ""}`));
  }
  const journal = pendingJournal(ctx.sys);
  if (!journal) return { code: worstCode(codes), apps, lines, problems };
  // Not a fact of one app, and asked each time: the memo keeps none of it.
  const cut = `the \`${journal.command}\` run of ${journal.started} was cut short; its journal ${ctx.sys.hostPath(JOURNAL)} waits to be finished`;
  return {
    code: worstCode([...codes, 1]),
    apps,
    lines: [`interrupted: ${cut}`, `  next: ${PENDING_JOURNAL_FIX}`, ...lines],
    problems: [`${cut} — ${PENDING_JOURNAL_FIX}`, ...problems],
    data: { journal: { path: ctx.sys.hostPath(JOURNAL), ...journal, next: PENDING_JOURNAL_FIX } },
  };
}

/** `report`: exactly one `APP<TAB>PROFILE` line per app, as the old tool's scripts parse. */
export async function report(ctx: Context, _args: Args): Promise<CommandResult> {
  const apps = ctx.apps.map((app) => ({ app, profile: detectProfile(observe(ctx.sys, app)).profile }));
  return { code: 0, apps, lines: apps.map((a) => `${a.app}\t${a.profile}`) };
}
