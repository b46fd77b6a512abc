/**
 * The install planner: from the settings and the local tree's state, the
 * plan that makes sympl-local.d carry exactly the selected changes. It adds
 * what is missing, updates what an earlier run wrote with other settings,
 * removes what is switched off, and never touches a part somebody else
 * changed: that is reported instead.
 */
import { InputError, problem } from "../errors.js";
import { SPAMHAUS_KEY_PATH, appPaths } from "../server-layout.js";
import type { App } from "../server-layout.js";
import type { Op } from "../plan.js";
import { appOwner, planCreateLocalTree } from "../tree/clone.js";
import type { Reader } from "../system/system.js";
import { CATALOGUE, CONNECT_CHECK_FILE, changeById, changeFiles, switchKey } from "../catalogue/catalogue.js";
import type { Change, ChangeId } from "../catalogue/catalogue.js";
import { applyEdit, describeEdit, editPartState, undoEdit } from "../catalogue/edits.js";
import { defineBlock, splitDefineBlock } from "./firewall.js";
import type { FirewallChoice } from "./firewall.js";
import type { Settings } from "./settings.js";
import { changeStates, fileState, logSelectorOf, ownPart, textOf, treeView } from "./state.js";
import type { ChangeState, TreeView } from "./state.js";
import { SPAMHAUS_SNIPPET, inlineKeyOf, snippetText } from "../catalogue/templates.js";
import type { Values } from "../catalogue/templates.js";
import { planBuiltKeyCopies, planKeyFile, planSavedKeyCopies } from "./key-file.js";
import type { KeyLine, KeyPlan } from "./key-file.js";
import { inTree, snippetPath } from "../paths.js";

/** What this run decides: which changes, and whether each should be on. */
export interface Selection {
  /** Changes this run installs or removes; the others are left as they are. */
  scope: Set<ChangeId>;
  wanted(id: ChangeId): boolean;
}

/** What install does about one change. */
export type Action = "install" | "update" | "remove" | "none" | "waiting" | "kept";

/** One change's line in the install report. */
export interface Outcome {
  id: ChangeId;
  before: ChangeState;
  action: Action;
  /** Some part was left alone because someone else changed it. */
  kept: boolean;
  notes: string[];
}

/** One app's install plan. */
export interface AppInstall {
  app: App;
  ops: Op[];
  outcomes: Outcome[];
  /** The database ch6 reads, when this run installs ch6. */
  firewall: FirewallChoice | null;
  /** What the run does to keep the Spamhaus key private (moved, removed, tightened), one line each. */
  keyLines: KeyLine[];
  /** Why a change this run selected cannot be installed yet (null: it can). */
  waitingFor(id: ChangeId): string | null;
  /** Why nothing of this app is installed: the server cannot run Sympl's tree (heldInstall). */
  held?: string;
}

/** Per-change bookkeeping while planning. */
class Tally {
  readonly touched = new Set<ChangeId>();
  readonly kept = new Set<ChangeId>();
  readonly notes = new Map<ChangeId, string[]>();
  note(id: ChangeId, line: string): void {
    this.notes.set(id, [...(this.notes.get(id) ?? []), line]);
  }
}

/** Why a wanted change cannot be installed on this machine, or null: it then waits. */
export function skipReason(id: ChangeId, settings: Settings, firewall: FirewallChoice | null): string | null {
  if (id === "ch2" && (settings.imapPort === undefined || settings.imapsPort === undefined)) {
    return `set both AUTO_IMAP_PORT and AUTO_IMAPS_PORT in ${settings.source} to install ch2`;
  }
  if (id === "ch6" && !firewall) {
    return "no firewall database found (nftfw in /etc/nftfw or /var/lib/nftfw, under / or /usr/local; /var/lib/sympl or /var/lib/symbiosis firewall-blacklist-count.db) — set AUTO_CH6_DATABASE to choose one";
  }
  if (id === "ch6" && firewall?.unusable) return firewall.unusable;
  return null;
}

/** Refuses a selection that would leave a change without one it needs. */
function checkNeeds(app: App, settings: Settings, isOn: (id: ChangeId) => boolean): void {
  for (const c of CATALOGUE.filter((x) => x.app === app && isOn(x.id))) {
    const keyed = settings.spamhausKey !== undefined ? c.needsWithSpamhausKey : [];
    for (const n of [...c.needs, ...keyed].filter((id) => !isOn(id))) {
      const why = keyed.includes(n) ? " (it defines the Spamhaus key)" : "";
      throw new InputError(
        problem(settings.source, `${c.id} needs ${n}${why}, which would not be installed`, `set ${switchKey(n)}=Y (with --only, name ${n} too), or ${switchKey(c.id)}=N`),
      );
    }
  }
}

/** The placeholder values from the settings, and ch3's log_selector from upstream's. */
function valuesOf(settings: Settings, logSelector: string): Values {
  return {
    LOG_SELECTOR: logSelector,
    IMAP_PORT: settings.imapPort?.toString(),
    IMAPS_PORT: settings.imapsPort?.toString(),
    DNSBL_CHECK_IN_CONNECT: settings.dnsblInConnect.join(" : "),
  };
}

/** The planner's working state for one app. */
interface Work {
  view: TreeView;
  decided: (id: ChangeId) => boolean;
  wanted: (id: ChangeId) => boolean;
  values: Values;
  firewall: FirewallChoice | null;
  tally: Tally;
  /** New text per path (null: remove), and the change that wrote it last. */
  next: Map<string, { text: string | null; change: ChangeId }>;
}

/** Decides one file a change writes; ch5's file also carries ch6's block. */
function planFile(w: Work, change: Change, rel: string): void {
  const cur = w.view.local(rel);
  const curText = textOf(cur);
  const appender = rel === CONNECT_CHECK_FILE ? changeById("ch6") : undefined;
  const state = fileState(w.view, change, rel);
  const curBlock = curText !== null && appender ? splitDefineBlock(curText).block : "";
  const curBase = curText !== null ? ownPart(rel, curText) : null;

  let nextBase = curBase;
  if (w.decided(change.id)) {
    if (w.wanted(change.id)) nextBase = snippetText(rel, w.values);
    else if (change.replaces.includes(rel)) nextBase = state === "absent" ? curBase : textOf(w.view.upstream(rel));
    else nextBase = state === "absent" ? curBase : null;
  }
  let nextBlock = curBlock;
  if (appender && w.decided(appender.id)) nextBlock = w.wanted(appender.id) && w.firewall ? defineBlock(w.firewall) : "";
  const nextText = nextBase === null ? null : nextBase + nextBlock;
  if (nextText === curText) return;

  const owners = [change.id, ...(appender && nextBlock !== curBlock ? [appender.id] : [])];
  if (state === "modified") {
    for (const id of owners) {
      w.tally.kept.add(id);
      w.tally.note(id, `${rel} differs from what install writes: not touched (see \`makefilecheck diff ${rel}\`)`);
    }
    return;
  }
  if (nextBase !== curBase) w.tally.touched.add(change.id);
  if (appender && nextBlock !== curBlock) w.tally.touched.add(appender.id);
  w.next.set(rel, { text: nextText, change: owners[owners.length - 1] ?? change.id });
}

/**
 * Decides one change's edits over upstream's main-options files, on top
 * of what earlier changes planned for the same files. Switched on, every
 * active line the change owns is commented out (or its word swapped);
 * switched off, what is ours goes back to upstream's form. A line the
 * admin rewrote is reported and left alone.
 */
function planEdits(w: Work, change: Change): void {
  for (const edit of change.edits) {
    for (const rel of w.view.mainOptionFiles()) {
      const planned = w.next.get(rel);
      const text = planned ? planned.text : textOf(w.view.local(rel));
      if (text === null) continue;
      const upstream = textOf(w.view.upstream(rel));
      const state = editPartState(edit, text, upstream);
      const next = w.wanted(change.id) ? applyEdit(edit, text) : state === "ours" ? undoEdit(edit, text, upstream ?? "") : text;
      if (state === "modified") {
        w.tally.note(change.id, `${rel}: the line for ${describeEdit(edit)} was changed by hand: not touched`);
        w.tally.kept.add(change.id);
      }
      if (next === text) continue;
      w.next.set(rel, { text: next, change: change.id });
      w.tally.touched.add(change.id);
    }
  }
}

/** The write (or remove) ops for the planned texts, with new files owned like /etc/APP. */
function opsFor(w: Work, sys: Reader): Op[] {
  const p = appPaths(w.view.app);
  const owner = appOwner(sys, w.view.app);
  const ops: Op[] = [];
  const made = new Set<string>();
  for (const [rel, { text, change }] of [...w.next].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const path = inTree(p.local, snippetPath(rel));
    const why = `email change ${change}`;
    if (text === null) {
      ops.push({ op: "remove", path, why });
      continue;
    }
    const isNew = w.view.local(rel).kind === "missing";
    const dirs = rel.split("/").slice(0, -1);
    for (let i = 1; i <= dirs.length; i += 1) {
      const dir = dirs.slice(0, i).join("/");
      if (!isNew || made.has(dir) || w.view.hasDir(dir)) continue;
      made.add(dir);
      ops.push({ op: "mkdir", path: inTree(p.local, snippetPath(dir)), mode: 0o755, ...owner, why });
    }
    ops.push({ op: "write", path, data: Buffer.from(text), ...(isNew ? { mode: 0o644, ...owner } : {}), why });
  }
  return ops;
}

/**
 * When this run also creates sympl-local.d, a changed file is written once,
 * with our text, in place of its copy (keeping the copy's mode and owner).
 */
function foldIntoCopy(copy: Op[], changes: Op[]): Op[] {
  const byPath = new Map(changes.flatMap((op) => (op.op === "write" ? [[op.path, op] as const] : [])));
  const folded = copy.map((op) => {
    const mine = op.op === "write" ? byPath.get(op.path) : undefined;
    return mine && op.op === "write" ? { ...op, data: mine.data, why: mine.why } : op;
  });
  const copied = new Set(copy.flatMap((op) => (op.op === "write" ? [op.path] : [])));
  return [...folded, ...changes.filter((op) => !(op.op === "write" && copied.has(op.path)))];
}

/** The action to report for a change, from what the planner did with it. */
function actionOf(id: ChangeId, before: ChangeState, w: Work, skipped: boolean): Action {
  if (skipped) return "waiting";
  const fresh = before === "not-installed" || before === "not-needed" || before === "waiting";
  if (w.tally.touched.has(id)) return w.wanted(id) ? (fresh ? "install" : "update") : "remove";
  if (w.tally.kept.has(id)) return "kept";
  return "none";
}

/**
 * `app`'s install when the server cannot run Sympl's tree at all (`why`):
 * nothing planned, every selected change of the app waiting for that
 * reason, and the tree left as it is.
 */
export function heldInstall(sys: Reader, app: App, selection: Selection, why: string): AppInstall {
  const before = changeStates(treeView(sys, app));
  const outcomes: Outcome[] = CATALOGUE.filter((c) => c.app === app && selection.scope.has(c.id)).map((c) => ({
    id: c.id,
    before: before.get(c.id)?.state ?? "not-installed",
    action: "waiting",
    kept: false,
    notes: [],
  }));
  return { app, ops: [], outcomes, firewall: null, keyLines: [], waitingFor: () => why, held: why };
}

/**
 * Plans `app`'s install: creating sympl-local.d when it is missing, then
 * the files and edits of the selected changes. Throws InputError when the
 * selection leaves a change without one it needs. Reports ch6's firewall
 * choice through `note`; a new tree's baseline is dated `now`. `chosen` is
 * ch6's database as usableFirewall found it (ch6 waits when it is null or
 * unusable).
 */
export function planChangeInstall(
  sys: Reader,
  app: App,
  settings: Settings,
  selection: Selection,
  note: (line: string) => void,
  now: Date,
  chosen: FirewallChoice | null,
): AppInstall {
  const view = treeView(sys, app);
  const before = changeStates(view);
  const inApp = (id: ChangeId) => changeById(id).app === app;
  const firewall = inApp("ch6") && selection.scope.has("ch6") && selection.wanted("ch6") ? chosen : null;
  const skips = new Map<ChangeId, string>();
  for (const id of selection.scope) {
    const reason = inApp(id) && selection.wanted(id) ? skipReason(id, settings, firewall) : null;
    if (reason) skips.set(id, reason);
  }
  if (firewall && !firewall.unusable) note(`${app}: ch6 reads the ${firewall.firewall} database ${firewall.db} (${firewall.how})`);
  const decided = (id: ChangeId) => selection.scope.has(id) && !skips.has(id);
  const isOn = (id: ChangeId) => (decided(id) ? selection.wanted(id) : before.get(id)?.state !== "not-installed");
  checkNeeds(app, settings, isOn);

  const logSelector = logSelectorOf(view);
  const w: Work = {
    view, decided, wanted: selection.wanted, values: valuesOf(settings, logSelector.value), firewall, tally: new Tally(), next: new Map(),
  };
  if (inApp("ch3") && decided("ch3") && selection.wanted("ch3") && logSelector.dropped.length) {
    w.tally.note("ch3", `upstream's log_selector has ${logSelector.dropped.join(" ")}: left out of ${changeFiles("ch3").join(", ")} (it cancels one of ours, or is no flag)`);
  }
  const changes = CATALOGUE.filter((c) => c.app === app && decided(c.id));
  for (const c of changes) for (const rel of changeFiles(c.id)) planFile(w, c, rel);
  // ch6 without ch5 in this run still needs its block written into ch5's file.
  if (decided("ch6") && !decided("ch5") && inApp("ch6")) planFile(w, changeById("ch5"), CONNECT_CHECK_FILE);
  for (const c of changes) planEdits(w, c);
  const key = app === "exim4" ? planSpamhausKey(w, sys, settings) : { ops: [], lines: [] };

  const treeOps = view.localExists ? opsFor(w, sys) : foldIntoCopy(planCreateLocalTree(sys, app, now), opsFor(w, sys));
  // The key file first: the snippet that includes it never goes live without it.
  const ops = [...key.ops.filter((op) => op.op !== "chmod"), ...treeOps, ...key.ops.filter((op) => op.op === "chmod")];
  const outcomes: Outcome[] = CATALOGUE.filter((c) => c.app === app && selection.scope.has(c.id)).map((c) => {
    const skip = skips.get(c.id);
    return {
      id: c.id,
      before: before.get(c.id)?.state ?? "not-installed",
      action: actionOf(c.id, before.get(c.id)?.state ?? "not-installed", w, Boolean(skip)),
      kept: w.tally.kept.has(c.id),
      notes: [...(skip ? [skip] : []), ...(w.tally.notes.get(c.id) ?? [])],
    };
  });
  return { app, ops, outcomes, firewall, keyLines: key.lines, waitingFor: (id) => skips.get(id) ?? null };
}

/**
 * The Spamhaus key's file and its copies. With ch10 in the run, the key
 * file holds the settings' key, or goes when ch10 is off or no key is set.
 * A 35-spamhaus-key of an earlier release that holds the key inline is
 * replaced whatever the run's scope, its key moved to the key file (with
 * ch10 in the run, planFile replaces it and the settings decide the key).
 */
function planSpamhausKey(w: Work, sys: Reader, settings: Settings): KeyPlan {
  const inline = inlineKeyOf(textOf(w.view.local(SPAMHAUS_SNIPPET)) ?? "");
  let want: string | null | undefined;
  let why: string;
  if (w.decided("ch10")) {
    const on = w.wanted("ch10");
    want = on ? (settings.spamhausKey ?? null) : null;
    why = !on ? "ch10 is switched off" : settings.spamhausKey === undefined ? "AUTO_SPAMHAUS_DB_KEY is empty" : "AUTO_SPAMHAUS_DB_KEY";
  } else {
    want = inline ?? undefined;
    why = `moved from ${SPAMHAUS_SNIPPET}`;
    if (inline !== null) w.next.set(SPAMHAUS_SNIPPET, { text: snippetText(SPAMHAUS_SNIPPET, {}), change: "ch10" });
  }
  const file = planKeyFile(sys, want, why);
  if (w.decided("ch10") && file.ops.some((op) => op.op !== "chmod")) w.tally.touched.add("ch10");
  const moved: KeyLine[] = [];
  if (inline !== null) {
    const from = `${appPaths("exim4").local}/${SPAMHAUS_SNIPPET}`;
    moved.push(
      typeof want === "string"
        ? { done: `moved the Spamhaus key out of ${from} into ${SPAMHAUS_KEY_PATH}`, would: `would move the Spamhaus key out of ${from} into ${SPAMHAUS_KEY_PATH}` }
        : { done: `removed the Spamhaus key from ${from} (${why})`, would: `would remove the Spamhaus key from ${from} (${why})` },
    );
  }
  const copies = [planBuiltKeyCopies(sys), planSavedKeyCopies(sys)];
  return { ops: [...file.ops, ...copies.flatMap((c) => c.ops)], lines: [...moved, ...file.lines, ...copies.flatMap((c) => c.lines)] };
}
