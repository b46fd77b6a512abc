/**
 * The `drift` command, in a module of its own: it loads only the scan,
 * the stat cache and the classification, not the diff and merge libraries
 * that `diff` and `sync` need (start-up is a large share of drift's budget,
 * docs/architecture.md, Budgets).
 */
import type { AppReport, Args, CommandResult, Context } from "../context.js";
import { Exit } from "../errors.js";
import type { ExitCode } from "../errors.js";
import type { App } from "../server-layout.js";
import type { State } from "./classify.js";
import { analyze, knownEditsFor, needsAction } from "./drift.js";
import type { PathState } from "./drift.js";
import { SYMPL_NEW } from "../tree/scan.js";
import { hasLocalTree, loadTrees, noLocalTree, requireUpstreamTree } from "../tree/trees.js";

/**
 * The apps to compare: those with a sympl-local.d. An app without one is
 * an error (a missing tree, exit 3) when no app asked about has one;
 * otherwise it is noted.
 */
export function appsWithLocalTree(ctx: Context, lines: string[]): App[] {
  const present = ctx.apps.filter((app) => hasLocalTree(ctx.sys, app));
  const missing = ctx.apps.filter((app) => !present.includes(app));
  const first = missing[0];
  if (present.length === 0 && first) {
    // Name what is missing first: no /etc/APP or no sympl.d, before no sympl-local.d.
    requireUpstreamTree(ctx.sys, first);
    throw noLocalTree(first);
  }
  for (const app of missing) lines.push(`${app}: no sympl-local.d (not managed locally) — run \`makefilecheck install -a ${app}\` to create one`);
  return present;
}

/** How drift groups states for the admin: a short code, a heading, and the next command. */
const GROUPS: Array<{ heading: string; states: Array<[State | "waiting", string]> }> = [
  {
    heading: "upstream changes not yet in sympl-local.d — run `makefilecheck sync`",
    states: [["upstream-modified", "M "], ["upstream-added", "A "], ["upstream-deleted", "D "]],
  },
  {
    heading: "changed on both sides — `makefilecheck diff PATH` shows them; `makefilecheck sync` tries a merge",
    states: [["conflict", "UU"]],
  },
  {
    heading: "differs from upstream, no baseline says who changed it — `makefilecheck diff PATH`, then `makefilecheck sync --take-upstream PATH` or `--keep-local PATH`",
    states: [["diverged", "??"]],
  },
  {
    heading: "upstream versions waiting — merge each into its file by hand, then delete the .sympl-new file",
    states: [["waiting", "!!"]],
  },
  {
    heading: "local changes and mirror links (sync keeps them)",
    states: [["local-modified", " M"], ["local-added", " A"], ["local-deleted", " D"], ["converged", "=="], ["linked", "->"]],
  },
];

/** Drift entries of one app for --json: every non-clean path, and each waiting `.sympl-new`. */
function driftEntries(states: PathState[], waiting: string[]): Array<{ path: string; state: string }> {
  const entries: Array<{ path: string; state: string }> = states.filter((s) => s.state !== "clean").map(({ path, state }) => ({ path, state }));
  for (const rel of waiting) entries.push({ path: `${rel}${SYMPL_NEW}`, state: "waiting" });
  return entries;
}

/** `git status --short`-like lines of one app's drift. */
function driftLines(app: App, entries: Array<{ path: string; state: string }>, adopted: boolean): string[] {
  const lines: string[] = [];
  if (entries.length === 0) lines.push(`${app}: sympl-local.d matches sympl.d`);
  else lines.push(`${app}:`);
  for (const group of GROUPS) {
    const rows = group.states.flatMap(([state, code]) => entries.filter((e) => e.state === state).map((e) => `    ${code} ${e.path}`));
    if (rows.length) lines.push(`  ${group.heading}:`, ...rows);
  }
  if (!adopted) lines.push(`  no baseline yet: \`makefilecheck sync -a ${app}\` records today's sympl.d as one (adopting the tree)`);
  return lines;
}

/** `drift`: the three-way state of every snippet; exit 1 when something needs doing. */
export async function drift(ctx: Context, _args: Args): Promise<CommandResult> {
  const lines: string[] = [];
  const apps: AppReport[] = [];
  let code: ExitCode = Exit.ok;
  for (const app of appsWithLocalTree(ctx, lines)) {
    const trees = loadTrees(ctx.sys, app, { useStatCache: true });
    const states = analyze(trees, await knownEditsFor(trees));
    const entries = driftEntries(states, trees.local.waiting);
    if (needsAction(states, trees.local.waiting)) code = Exit.actionNeeded;
    apps.push({ app, entries });
    lines.push(...driftLines(app, entries, trees.baseline !== null));
  }
  return { code, apps, lines };
}

