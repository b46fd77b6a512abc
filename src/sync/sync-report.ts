/** The human lines of one app's sync: what changed, what waits, where old versions went. */
import type { App } from "../server-layout.js";
import { appPaths } from "../server-layout.js";
import type { SyncAction, SyncEntry, SyncPlan } from "./plan-sync.js";
import { SYMPL_NEW } from "../tree/scan.js";

/** How each action reads in the report. */
const SAYS: Record<SyncAction, string> = {
  updated: "updated    ",
  added: "added      ",
  removed: "removed    ",
  merged: "merged     ",
  rederived: "re-derived ",
  conflict: "CONFLICT   ",
  kept: "diverged   ",
  "took-upstream": "took upstream",
  "kept-local": "kept local ",
  "kept-retired": "KEPT       ",
  moved: "moved      ",
};

/** The line of one entry, with what the admin should do about it when anything. */
function entryLine(app: App, e: SyncEntry): string {
  const head = `  ${SAYS[e.action]} ${e.path}`;
  if (e.action === "kept") {
    return `${head} — left alone; see \`makefilecheck diff ${e.path}\`, then \`makefilecheck sync -a ${app} --take-upstream ${e.path}\` or \`--keep-local ${e.path}\``;
  }
  if (e.action === "moved") return `${head} → ${e.to ?? "?"} (upstream renamed it; your changes went along)`;
  if (e.action === "kept-retired") return `${head} — upstream retired it but you changed it: kept; delete it if it is no longer wanted`;
  if (e.note && e.action !== "conflict") return `${head} — ${e.note}`;
  if (e.action !== "conflict") return head;
  const beside = `${appPaths(app).local}/${e.path}${SYMPL_NEW}`;
  return `${head} — your version kept; upstream's is in ${beside}: merge it by hand, then delete that file (or \`makefilecheck sync -a ${app} --take-upstream ${e.path}\`)`;
}

/**
 * Every line reporting `plan` for `app`; `unwritten` says why nothing was
 * written (null: it was). Then the config test's lines (`tested`) and
 * what `--make` did (`rebuilt`), said once: on the one line of a sync
 * with nothing to sync (`exim4: nothing to sync; … was stale: rebuilt
 * from …`), else each on a line of its own.
 */
export function syncReportLines(app: App, plan: SyncPlan, adopted: boolean, unwritten: string | null, then: { tested: string[]; rebuilt: string[] }): string[] {
  const { tested, rebuilt } = then;
  const lines: string[] = [];
  const would = unwritten ? ` (${unwritten}: nothing written)` : "";
  if (adopted) lines.push(`${app}: adopting sympl-local.d: today's sympl.d becomes the baseline${would}`);
  const idle = plan.entries.length === 0 && !plan.baselineChanged;
  if (idle && rebuilt.length) lines.push(`${app}: nothing to sync; ${rebuilt.join("; ")}`);
  else if (idle) lines.push(`${app}: nothing to do`);
  else if (plan.entries.length === 0) lines.push(`${app}: no snippet to change; baseline ${adopted ? "recorded" : "updated"}${would}`);
  else lines.push(`${app}:${would}`, ...plan.entries.map((e) => entryLine(app, e)));
  if (plan.savedDir) lines.push(`  previous versions ${unwritten ? "would be" : "are"} kept in ${plan.savedDir}`);
  const stillWaiting = plan.waiting.filter((p) => !plan.entries.some((e) => e.path === p && e.action === "conflict"));
  for (const p of stillWaiting) lines.push(`  waiting    ${p}${SYMPL_NEW} — merge it into ${p} by hand, then delete it`);
  lines.push(...tested);
  if (!idle) lines.push(...rebuilt.map((said) => `${app}: ${said}`));
  return lines;
}

/**
 * One line per path that needs the admin after a sync (a conflict, a
 * diverged file, a retired one kept, a `.sympl-new` still waiting), naming
 * the file and how to settle it: what -q still prints.
 */
export function syncProblems(app: App, plan: SyncPlan): string[] {
  const local = appPaths(app).local;
  const settle = (p: string) => `\`makefilecheck sync -a ${app} --keep-local ${p}\` or \`--take-upstream ${p}\``;
  const out: string[] = [];
  for (const p of plan.waiting) out.push(`${app}: CONFLICT ${local}/${p}: upstream's version is in ${local}/${p}${SYMPL_NEW} — merge it by hand and delete it, or ${settle(p)}`);
  for (const p of plan.unsettled) out.push(`${app}: DIVERGED ${local}/${p}: differs from upstream and no baseline says who changed it — \`makefilecheck diff ${p}\`, then ${settle(p)}`);
  for (const e of plan.entries) if (e.action === "kept-retired") out.push(`${app}: KEPT ${local}/${e.path}: upstream retired it but you changed it — delete it if it is no longer wanted`);
  return out;
}
