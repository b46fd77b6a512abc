/** Commands of the change catalogue: install, changes. */
import { optionsOf } from "../args.js";
import type { CommandOptions } from "../args.js";
import { posix, resolve } from "node:path";
import { apply, finishInterruptedFirst, withLock } from "../context.js";
import type { AppReport, Args, CommandResult, Context } from "../context.js";
import { Exit, InputError, problem } from "../errors.js";
import { appPaths } from "../server-layout.js";
import type { App } from "../server-layout.js";
import { treeMisfit } from "../tree/daemon-release.js";
import { refusalWords, runConfigTest } from "../tree/configtest.js";
import { planUse } from "../makefilecheck/commands.js";
import { plannedContents, samePlan } from "../plan.js";
import type { Op } from "../plan.js";
import { hostReader, onHostReader, readStandardInput } from "../system/host.js";
import { readBuilt } from "../built/read.js";
import type { Section } from "../built/classify.js";
import { sectionInForce } from "../built/classify.js";
import { CATALOGUE, changeById, changeFiles, isChangeId, switchKey } from "../catalogue/catalogue.js";
import { editPartState } from "../catalogue/edits.js";
import type { Change, ChangeId } from "../catalogue/catalogue.js";
import { usableFirewall } from "./firewall.js";
import type { FirewallChoice } from "./firewall.js";
import { heldInstall, planChangeInstall, skipReason } from "./install.js";
import type { AppInstall, Outcome, Selection } from "./install.js";
import { PlannedView } from "../system/overlay.js";
import { DEFAULT_SETTINGS_PATH, SETTINGS_MAX_BYTES, defaultSettingsText, readFileSettings, readSettingsFile } from "./settings.js";
import type { Settings } from "./settings.js";
import { changeStates, textOf, treeView } from "./state.js";
import type { ChangeState, TreeView } from "./state.js";
import { hostPath, serverPath } from "../paths.js";

/**
 * Reads the settings `--config` names (a host path), else the default file
 * under --root; `sets` are the --set KEY=VALUE overrides, `fromFiles` the
 * --set-from-file NAME=PATH ones (host paths, `-` standard input).
 */
function loadSettings(ctx: Context, config: string | undefined, sets: string[], fromFiles: string[] = []): Settings {
  const warn = (line: string) => ctx.note(`warning: ${line}`);
  if (config === "") throw new InputError(problem("--config ''", "empty", "give the path of the settings file"));
  const host = hostReader();
  const values = readFileSettings(fromFiles, {
    file: (path) => host.readSmallFile(onHostReader(hostPath(resolve(path))), SETTINGS_MAX_BYTES),
    stdin: () => readStandardInput(SETTINGS_MAX_BYTES),
  });
  const options = { sets, fromFiles: values, warn };
  if (config !== undefined) {
    const path = hostPath(resolve(config));
    return readSettingsFile(host, onHostReader(path), path, { ...options, mustExist: true });
  }
  return readSettingsFile(ctx.sys, DEFAULT_SETTINGS_PATH, DEFAULT_SETTINGS_PATH, { ...options, mustExist: false });
}

/**
 * The changes this run decides. `--only` names them (each on, unless
 * `--set AUTO_CHn=N` says otherwise); without it, every change, as the
 * settings say.
 */
function selectionOf(o: CommandOptions["install"], settings: Settings): Selection {
  const { only, set: sets } = o;
  if (only === undefined) return { scope: new Set(CATALOGUE.map((c) => c.id)), wanted: (id) => settings.enabled[id] };
  const ids = only.split(",").map((s) => s.trim()).filter(Boolean);
  if (ids.length === 0) throw new InputError(problem(`--only '${only}'`, "names no change", "give change ids such as ch3,ch5, or leave out --only to follow the settings"));
  for (const id of ids) {
    if (!isChangeId(id)) throw new InputError(problem(`--only ${only}`, `unknown change \`${id}\``, "use ids ch1 to ch14, comma-separated"));
  }
  const explicit = (id: ChangeId) => sets.some((s) => s.startsWith(`${switchKey(id)}=`));
  return { scope: new Set(ids as ChangeId[]), wanted: (id) => (explicit(id) ? settings.enabled[id] : true) };
}

/** `install --init`: the commented default settings file, refusing to replace one. */
async function initSettings(ctx: Context, config: string | undefined): Promise<CommandResult> {
  if (config !== undefined) throw new InputError(problem("--init", `writes ${DEFAULT_SETTINGS_PATH} under --root`, "leave out --config"));
  if (ctx.sys.stat(DEFAULT_SETTINGS_PATH)) {
    throw new InputError(problem(DEFAULT_SETTINGS_PATH, "already exists", "edit it, or move it away to start afresh"));
  }
  const plan: Op[] = [
    { op: "mkdir", path: serverPath(posix.dirname(DEFAULT_SETTINGS_PATH)), mode: 0o755, why: "settings directory" },
    { op: "write", path: DEFAULT_SETTINGS_PATH, data: Buffer.from(defaultSettingsText()), mode: 0o600, why: "default install settings (0600: it is where the Spamhaus key goes)" },
  ];
  await withLock(ctx, () => apply(ctx, "install --init", plan));
  const lines = ctx.dryRun ? [] : [`wrote ${DEFAULT_SETTINGS_PATH}: edit it, then run \`makefilecheck install\``];
  return { code: Exit.ok, apps: [], lines, plan };
}

const DONE: Record<Outcome["action"], string> = {
  install: "installed", update: "updated", remove: "removed", none: "unchanged", waiting: "waiting", kept: "left alone",
};
const WOULD: Record<Outcome["action"], string> = {
  install: "would be installed", update: "would be updated", remove: "would be removed", none: "unchanged", waiting: "waiting", kept: "left alone",
};

/** One human line per change the run decided; a dry run says what it would do. */
function outcomeLine(app: string, o: Outcome, dryRun: boolean): string {
  const verb = (dryRun ? WOULD : DONE)[o.action];
  return `${app}: ${o.id} ${verb} (${changeById(o.id).title})${o.notes.length ? ` — ${o.notes.join("; ")}` : ""}`;
}

/** An app this run installs nothing for, and why: the server cannot run Sympl's tree (`stock`: its own tree was refused, exit 3). */
interface Held {
  why: string;
  stock: boolean;
}

/** The daemon refused Sympl's own tree the way it refused ours: the server, not the change, is at fault. */
class StockRefusal extends Error {
  constructor(
    readonly app: App,
    readonly why: string,
  ) {
    super(why);
  }
}

/** A refusal without its place, to tell whether two trees fail the same way. */
function faultOf(output: string): string {
  return (output.split("\n")[0] ?? "").replace(/^sympl(?:-local)?\.d\/\S+: line \d+: /, "");
}

/** What the admin can do about a fault of Sympl's own tree on this server, when the daemon's words tell. */
function stockFix(output: string): string {
  const protocol = /Unknown protocol: (\w+)/.exec(output)?.[1];
  const packages: Record<string, string> = { sieve: "dovecot-managesieved", imap: "dovecot-imapd", pop3: "dovecot-pop3d", lmtp: "dovecot-lmtpd", submission: "dovecot-submissiond" };
  if (protocol && packages[protocol]) return `install ${packages[protocol]}`;
  if (/dovecot_config_version/.test(output)) return "Sympl's dovecot tree is written for dovecot 2.3";
  if (/lookup type|not supported|unknown lookup/i.test(output)) return "install exim4-daemon-heavy";
  return "the server lacks something Sympl's tree needs: fix that, then run install again";
}

/**
 * Runs the daemon's config test on an app's local tree as the plan leaves
 * it, before anything is written. When it fails, Sympl's own tree is
 * tested too: refused the same way, the server cannot run Sympl's tree
 * (StockRefusal: that app is held, the other goes on); else the whole run
 * is refused.
 */
async function testPlanned(ctx: Context, view: PlannedView, app: AppInstall["app"]): Promise<void> {
  const result = await runConfigTest(view, app, "local");
  if (result.status === "skipped") ctx.note(`${app}: config test skipped: ${result.output}`);
  if (result.status !== "failed") return;
  const stock = await runConfigTest(view, app, "sympl");
  if (stock.status === "failed" && faultOf(stock.output) === faultOf(result.output)) {
    const said = refusalWords(stock).replace(/^(sympl\.d\/\S+): /, "`$1`: ");
    throw new StockRefusal(app, `${app} rejects Sympl's own tree too: ${said}; ${stockFix(stock.output)}`);
  }
  throw new InputError(
    problem(appPaths(app).local, `${app} rejects the config the install would build: ${refusalWords(result)}`, "nothing was changed; fix the settings or the edited snippet", result.source),
  );
}

/** Everything install would do: per-app outcomes, the state each change is left in, and the one plan (changes, then `use local`). */
interface InstallPlan {
  plans: AppInstall[];
  after: Map<ChangeId, ChangeState>;
  plan: Op[];
  /** What `use local` says per app (the `make` to run), said after the changes. */
  useLines: Map<AppInstall["app"], string[]>;
}

/**
 * Plans the whole run and proves it with the config test; writes nothing.
 * A held app gets no plan; one whose own tree the daemon refuses is added
 * to `held` and the run planned again without it.
 */
async function planRun(ctx: Context, settings: Settings, selection: Selection, opts: { check: boolean; make: boolean }, held: Map<App, Held>): Promise<InstallPlan> {
  for (;;) {
    try {
      return await planApps(ctx, settings, selection, opts, held);
    } catch (err) {
      if (!(err instanceof StockRefusal)) throw err;
      held.set(err.app, { why: err.why, stock: true });
    }
  }
}

/** planRun's one attempt. */
async function planApps(ctx: Context, settings: Settings, selection: Selection, opts: { check: boolean; make: boolean }, held: Map<App, Held>): Promise<InstallPlan> {
  const firewall = ctx.apps.includes("exim4") && !held.has("exim4") && selection.scope.has("ch6") && selection.wanted("ch6") ? await usableFirewall(ctx.sys, settings.database) : null;
  const plans = ctx.apps.map((app) => {
    const hold = held.get(app);
    return hold ? heldInstall(ctx.sys, app, selection, hold.why) : planChangeInstall(ctx.sys, app, settings, selection, (line) => ctx.note(line), ctx.now(), firewall);
  });
  const changeOps = plans.flatMap((p) => p.ops);
  const view = new PlannedView(ctx.sys, plannedContents(changeOps));
  const after = new Map<ChangeId, ChangeState>();
  for (const p of plans) for (const [id, s] of changeStates(treeView(view, p.app), (c) => p.waitingFor(c))) after.set(id, s.state);
  const useOps: Op[] = [];
  const useLines = new Map<AppInstall["app"], string[]>();
  for (const p of plans) {
    if (p.held) continue;
    // A tree this run changes is tested here; an unchanged one by `use` when it goes live.
    const changed = p.ops.length > 0;
    if (changed && opts.check) await testPlanned(ctx, view, p.app);
    const use = await planUse({ ...ctx, sys: view }, p.app, "local", { check: opts.check && !changed, make: opts.make });
    useOps.push(...use.ops);
    useLines.set(p.app, use.lines);
  }
  return { plans, after, plan: [...changeOps, ...useOps], useLines };
}

/** True when a change's state after the run is what its switch asks for (a waiting change counts: it says what it needs). */
function settled(wanted: boolean, state: ChangeState | undefined): boolean {
  if (state === "not-needed") return true;
  return wanted ? state === "installed" || state === "waiting" : state === "not-installed";
}

/**
 * `install`: the selected email changes into sympl-local.d as one plan,
 * then `use local`. Planned and tested once without the lock, so that a
 * refusal leaves no trace (not even a state dir). Under the lock it is
 * planned again without the config tests; only when that plan differs
 * (another run changed the tree meanwhile) is it made and tested afresh.
 */
export async function install(ctx: Context, args: Args): Promise<CommandResult> {
  await finishInterruptedFirst(ctx);
  const o = optionsOf("install", args);
  if (o.init) return initSettings(ctx, o.config);
  const settings = loadSettings(ctx, o.config, o.set, o["set-from-file"]);
  const selection = selectionOf(o, settings);
  const opts = { check: o.check, make: o.make };
  // An app whose daemon cannot run Sympl's tree at all (dovecot 2.4) is held from the start.
  const held = new Map<App, Held>();
  for (const app of ctx.apps) {
    const misfit = treeMisfit(ctx.sys, app);
    if (misfit) held.set(app, { why: misfit, stock: false });
  }
  // The notes of the plan applied are said once it is applied: never before a refusal.
  const notes: string[] = [];
  const first = await planRun({ ...ctx, note: (line) => notes.push(line) }, settings, selection, opts, held);
  const { plans, plan, after, useLines } = await withLock(ctx, async () => {
    const again = ctx.dryRun ? first : await planRun({ ...ctx, note: () => {} }, settings, selection, { ...opts, check: false }, held);
    const fresh: string[] = [];
    const planned = samePlan(again.plan, first.plan) ? first : await planRun({ ...ctx, note: (line) => fresh.push(line) }, settings, selection, opts, held);
    await apply(ctx, "install", planned.plan);
    for (const line of planned === first ? notes : fresh) ctx.note(line);
    return planned;
  });
  const lines = plans.flatMap((p) => (p.held ? [`${p.app}: nothing installed — ${p.held}`] : p.outcomes.filter((o) => o.action !== "none" || o.notes.length).map((o) => outcomeLine(p.app, o, ctx.dryRun))));
  const keyLines = (p: AppInstall) => p.keyLines.map((l) => (ctx.dryRun ? l.would : l.done));
  lines.push(...plans.flatMap((p) => keyLines(p).map((l) => `${p.app}: ${l}`)));
  if (plan.length === 0 && held.size === 0) lines.push("nothing to do: the selected changes are in place and sympl-local.d is live");
  // What is left to do (the `make` that puts the changes in force) comes after what was done.
  lines.push(...plans.flatMap((p) => useLines.get(p.app) ?? []));
  // Done when every selected change ends where its switch says; else (an admin's edit left alone) the admin has a look.
  const done = plans.every((p) => p.outcomes.every((o) => settled(selection.wanted(o.id), after.get(o.id))));
  const apps: AppReport[] = plans.map((p) => ({
    app: p.app,
    changes: p.outcomes.map(({ id, before, action, kept, notes }) => ({ id, before, state: after.get(id), action, kept, notes })),
    ...(p.firewall ? { firewall: p.firewall } : {}),
    ...(p.keyLines.length ? { spamhausKey: keyLines(p) } : {}),
    ...(useLines.get(p.app)?.length ? { notes: useLines.get(p.app) } : {}),
    ...(p.held ? { held: p.held } : {}),
  }));
  // The server cannot run Sympl's own tree for an app: exit 3, said under -q too; a dovecot release Sympl has no tree for is no fault.
  const stock = plans.filter((p) => held.get(p.app)?.stock).map((p) => `${p.app}: nothing installed — ${p.held}`);
  if (stock.length) return { code: Exit.environment, apps, lines, plan, problems: stock };
  return { code: done ? Exit.ok : Exit.actionNeeded, apps, lines, plan };
}

/** The settings that control a change, for the `changes` table, with the switch's value when known. */
function controls(c: Change, settings: Settings | null): string {
  const key = switchKey(c.id);
  return [settings ? `${key}=${settings.enabled[c.id] ? "Y" : "N"}` : key, ...c.settings].join(", ");
}

/** The settings for the `changes` table; a bad file is noted, not fatal: the states are still worth showing. */
function settingsForTable(ctx: Context, config: string | undefined): Settings | null {
  try {
    return loadSettings(ctx, config, []);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    ctx.note(`settings not shown: ${err.message}`);
    return null;
  }
}

/** Every snippet path a change writes, or carries one of its edits in. */
function pathsOf(view: TreeView, c: Change): string[] {
  const edited = view.mainOptionFiles().filter((rel) => c.edits.some((e) => editPartState(e, textOf(view.local(rel)), textOf(view.upstream(rel))) === "ours"));
  return [...changeFiles(c.id), ...edited, ...(c.appendsTo ? [c.appendsTo] : [])];
}

/**
 * Whether a change is in force: every snippet it writes or edits is in the
 * built config, from sympl-local.d, as it is now. Null when the change is
 * not installed or nothing is built.
 */
function inForce(view: TreeView, c: Change, state: ChangeState, sections: Section[] | null): boolean | null {
  if (state !== "installed" && state !== "modified") return null;
  if (!sections) return null;
  return pathsOf(view, c).every((rel) => {
    const text = textOf(view.local(rel));
    return text !== null && sectionInForce(sections, "sympl-local.d", rel, text);
  });
}

const IN_FORCE_WORDS = { true: "in force", false: "NOT IN FORCE", null: "-" } as const;

/** One row of the `changes` table, its columns padded so that the header lines up with the rows. */
function tableRow(id: string, state: string, inForce: string, title: string, settings: string): string {
  return `  ${id.padEnd(5)} ${state.padEnd(14)} ${inForce.padEnd(13)} ${title.padEnd(46)} ${settings}`;
}

/** The header of each app's table: what each column is. */
const TABLE_HEADER = tableRow("ID", "STATE", "IN FORCE", "WHAT IT DOES", "SETTINGS");

/** Why a change switched on in `settings` cannot be installed here yet, or null; `firewall` is ch6's database as usableFirewall found it. */
function waitingReason(id: ChangeId, settings: Settings, firewall: FirewallChoice | null): string | null {
  return skipReason(id, settings, id === "ch6" ? firewall : null);
}

/**
 * `changes`: every change of the selected apps with its state on this
 * machine and whether the built config has it; exit 1 when an installed
 * change has a problem (ch6 on a database exim cannot use).
 */
export async function changes(ctx: Context, args: Args): Promise<CommandResult> {
  const settings = settingsForTable(ctx, optionsOf("changes", args).config);
  const apps: AppReport[] = [];
  const lines: string[] = [];
  const firewall = settings?.enabled.ch6 && ctx.apps.includes("exim4") ? await usableFirewall(ctx.sys, settings.database) : null;
  for (const app of ctx.apps) {
    const view = treeView(ctx.sys, app);
    // A daemon that cannot run Sympl's tree holds every change of its app that is switched on.
    const misfit = treeMisfit(ctx.sys, app);
    const states = changeStates(view, (id) => (settings && !settings.enabled[id] ? null : (misfit ?? (settings ? waitingReason(id, settings, firewall) : null))));
    const built = view.localExists ? readBuilt(ctx.sys, app, "local").verdict : null;
    const sections = built && built.state !== "missing" ? built.sections : null;
    const rows = CATALOGUE.filter((c) => c.app === app).map((c) => {
      const status = states.get(c.id);
      const state = status?.state ?? "not-installed";
      // An installed ch6 whose database broke since: exim defers every connection it checks.
      const problem = c.id === "ch6" && (state === "installed" || state === "modified") ? firewall?.unusable : undefined;
      return { change: c, state, waiting: status?.waiting, problem, inForce: inForce(view, c, state, sections) };
    });
    apps.push({
      app,
      changes: rows.map((r) => ({ id: r.change.id, state: r.state, inForce: r.inForce, ...(r.waiting ? { waiting: r.waiting } : {}), ...(r.problem ? { problem: r.problem } : {}) })),
    });
    // Where install would hold the app (misfit), it is no step to suggest; the rows say why.
    lines.push(view.localExists || misfit ? `${app}:` : `${app}: no sympl-local.d yet — \`makefilecheck install\` creates it`, TABLE_HEADER);
    for (const r of rows) {
      lines.push(tableRow(r.change.id, r.state, IN_FORCE_WORDS[`${r.inForce}`], r.change.title, controls(r.change, settings)));
      if (r.waiting) lines.push(`        waiting: ${r.waiting}`);
      if (r.problem) lines.push(`        problem: ${r.problem}`);
    }
    if (rows.some((r) => r.inForce === false)) lines.push(`  not in force: the built ${appPaths(app).conf} lacks them — run \`cd ${appPaths(app).dir} && make\``);
  }
  const broken = apps.some((a) => (a.changes as Array<{ problem?: string }>).some((c) => c.problem));
  return { code: broken ? Exit.actionNeeded : Exit.ok, apps, lines };
}
