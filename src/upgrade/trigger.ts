/**
 * `sync --trigger`: the job the package's dpkg file trigger runs within the
 * package run (docs/sympl.md, "Upgrades run the job"). It does nothing and
 * says nothing unless the admin enabled the triggers (`hooks --install`)
 * and a local tree is chosen; then it repairs, syncs, rebuilds what is not
 * current and reloads, in one run, says one summary line when it changed
 * something (even under -q), and mails root what needs a person.
 */
import { optionsOf } from "../args.js";
import type { AppReport, Args, CommandResult, Context } from "../context.js";
import { Exit, UserError } from "../errors.js";
import { md5 } from "../hash.js";
import type { App } from "../server-layout.js";
import { appPaths } from "../server-layout.js";
import { repair } from "../makefilecheck/commands.js";
import { readConffileRecords } from "../makefilecheck/dpkg.js";
import { observe } from "../makefilecheck/observe.js";
import { detectProfile } from "../makefilecheck/profile.js";
import { sync } from "../sync/commands.js";
import { TRIGGER_FLAG } from "./hook-files.js";
import { mailProblems } from "./mail.js";

/** `sync`, or with --trigger the trigger's job. */
export async function syncOrTrigger(ctx: Context, args: Args): Promise<CommandResult> {
  return optionsOf("sync", args).trigger ? trigger(ctx) : sync(ctx, args);
}

/** The apps whose chosen tree is the local one (an unreadable setup counts: repair reports it). */
function localApps(ctx: Context): App[] {
  return ctx.apps.filter((app) => {
    try {
      return detectProfile(observe(ctx.sys, app)).mode === "local";
    } catch (err) {
      if (err instanceof UserError) return true;
      throw err;
    }
  });
}

/** Runs one step of the job; a refusal becomes a problem line instead of ending the job. */
async function step(run: () => Promise<CommandResult>, problems: string[]): Promise<CommandResult | null> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    problems.push(err.message);
    return null;
  }
}

/** What the job changed for one app, in words: `repaired`, `synced N`, `rebuilt`, `reloaded`, and the conflicts it left. */
function changedWords(app: App, repaired: CommandResult | null, synced: CommandResult | null): string[] {
  const words: string[] = [];
  const r = repaired?.apps.find((a) => a.app === app);
  if (r?.changed) words.push("repaired");
  const s = synced?.apps.find((a) => a.app === app) as (AppReport & { entries?: { action: string }[]; built?: { rebuilt: boolean; reloaded: boolean }; written?: boolean }) | undefined;
  const moved = (s?.entries ?? []).filter((e) => !["kept", "conflict", "kept-retired"].includes(e.action)).length;
  if (moved && s?.written) words.push(`synced ${moved} snippet${moved === 1 ? "" : "s"}`);
  if (s?.built?.rebuilt) words.push(`rebuilt ${appPaths(app).conf}`);
  if (s?.built?.reloaded) words.push(`reloaded ${app}`);
  const conflicts = (s?.entries ?? []).filter((e) => e.action === "conflict").length;
  if (conflicts) words.push(`${conflicts} conflict${conflicts === 1 ? "" : "s"} (your edit kept, upstream's beside it as .sympl-new)`);
  return words;
}

/**
 * A Sympl package we can see being held back: the packaged Makefile no
 * longer has the md5 dpkg recorded, so the next release that changes it
 * prompts, and unattended-upgrades skips the package.
 */
async function heldBack(ctx: Context, apps: App[]): Promise<string[]> {
  const records = await readConffileRecords(ctx.sys, apps);
  return apps.flatMap((app) => {
    const p = appPaths(app);
    const rec = records.get(p.makefile);
    const st = ctx.sys.stat(p.makefile);
    if (!rec || st?.type !== "file" || md5(ctx.sys.readFile(p.makefile)) === rec.md5) return [];
    return [`${app}: ${p.makefile} is not the text dpkg recorded for ${rec.pkg}, so unattended-upgrades holds ${rec.pkg} back when a release changes it — run \`makefilecheck repair\`; if it cannot restore it, \`apt-get install --reinstall ${rec.pkg}\``];
  });
}

/** The trigger's job (see the module comment). */
async function trigger(ctx: Context): Promise<CommandResult> {
  const idle: CommandResult = { code: Exit.ok, apps: [], lines: [] };
  if (!ctx.sys.stat(TRIGGER_FLAG)) return idle;
  const apps = localApps(ctx);
  if (apps.length === 0) return idle;
  const sub: Context = { ...ctx, apps };
  const problems: string[] = [];
  const repaired = await step(() => repair(sub, { _: [], check: true }), problems);
  const synced = await step(() => sync(sub, { _: [], make: true }), problems);
  problems.push(...(repaired?.problems ?? []), ...(synced?.problems ?? []));
  if (!ctx.dryRun) problems.push(...(await heldBack(ctx, apps)));
  const words = apps.flatMap((app) => {
    const w = changedWords(app, repaired, synced);
    return w.length ? [`${app}: ${w.join(", ")}`] : [];
  });
  const summary = words.length ? `makefilecheck (package trigger): ${words.join("; ")}` : undefined;
  const mailed = ctx.dryRun ? [] : await mailProblems(ctx, apps, problems);
  const lines = [...(repaired?.lines ?? []), ...(synced?.lines ?? []), ...problems.filter((l) => !(synced?.lines ?? []).includes(l)), ...mailed];
  const code = problems.length ? Exit.actionNeeded : Exit.ok;
  return { code, apps: [...(synced?.apps ?? [])], lines, plan: [...(repaired?.plan ?? []), ...(synced?.plan ?? [])], problems: [...problems, ...mailed], ...(summary ? { summary } : {}) };
}
