/**
 * A plan is a list of plain operations, computed before anything is
 * written. `--dry-run` prints it, `--json` emits it, `applyPlan` runs it
 * through the System after writing a journal, so that a run cut short is
 * finished by the next one. Every operation is idempotent for that reason.
 */
import { EnvironmentError, RefusedError, UserError, isSystemFailure, problem } from "./errors.js";
import { sha256 } from "./hash.js";
import { daemonWords, maskKey } from "./daemon-words.js";
import type { Source } from "./daemon-words.js";
import { posix } from "node:path";
import { childPath, serverPath } from "./paths.js";
import type { ServerPath } from "./paths.js";
import { ACTION_LOG, APPS, KEY_DEFINE, SPAMHAUS_KEY_PATH, STATE_DIR, appPaths } from "./server-layout.js";
import type { App } from "./server-layout.js";
import type { Planned } from "./system/overlay.js";
import type { Attrs, Reader, System } from "./system/system.js";

/** One step of a plan; `why` is the short reason shown to the admin. */
export type Op =
  | ({ op: "write"; path: ServerPath; data: Buffer; why: string } & Attrs)
  | ({ op: "symlink"; path: ServerPath; target: string; why: string } & Attrs)
  | ({ op: "mkdir"; path: ServerPath; why: string } & Attrs)
  | { op: "chmod"; path: ServerPath; mode: number; why: string }
  | { op: "remove"; path: ServerPath; why: string }
  | { op: "rename"; from: ServerPath; to: ServerPath; why: string }
  | { op: "run"; cmd: string; args: string[]; cwd: ServerPath; why: string; /** Text for the program's stdin (a mail for sendmail). */ input?: string }
  /**
   * A cache of ours (drift's stat cache), refreshed at apply time after the
   * file steps: written only when the file does not hold `data` already.
   * Never journalled, and a cache
   * that cannot be written is a note, not a failed run: losing it costs
   * time, never a result.
   */
  | { op: "cache"; path: ServerPath; data: Buffer; why: string };

/** The step that refreshes a cache of ours. */
export type CacheOp = Extract<Op, { op: "cache" }>;

/** The journal of the plan being applied. */
export const JOURNAL = childPath(STATE_DIR, "journal.json");

/** One line for the admin: what the step does, to which path, and why. */
export function describeOp(op: Op): string {
  switch (op.op) {
    case "write":
      return `write   ${op.path} (${op.why})`;
    case "symlink":
      return `link    ${op.path} -> ${op.target} (${op.why})`;
    case "mkdir":
      return `mkdir   ${op.path} (${op.why})`;
    case "chmod":
      return `chmod   ${op.path} ${op.mode.toString(8).padStart(4, "0")} (${op.why})`;
    case "remove":
      return `remove  ${op.path} (${op.why})`;
    case "rename":
      return `rename  ${op.from} -> ${op.to} (${op.why})`;
    case "run":
      return `run     ${[op.cmd, ...op.args].join(" ")} in ${op.cwd} (${op.why})`;
    case "cache":
      return `cache   ${op.path} (${op.why}; rewritten only if it changed)`;
  }
}

/**
 * The steps an admin is shown (the dry-run list, --json, the watcher's
 * counts): a cache refresh changes nothing of theirs, so a run with only
 * that to do has nothing to do.
 */
export function shownSteps(plan: Op[]): Op[] {
  return plan.filter((op) => op.op !== "cache");
}

/**
 * Where a step belongs in the dry-run summary: the baseline store of an
 * app and one run's saved copies are one line each, however many files
 * they hold; other steps are grouped by kind of change, reason and the
 * directory they are in (the copy of sympl.d is one line).
 */
function summaryKey(op: Op, index: number): string {
  if (op.op === "run") return `run ${index}`;
  const path = op.op === "rename" ? op.to : op.path;
  const under = path.startsWith(`${STATE_DIR}/`) ? path.slice(STATE_DIR.length + 1).split("/") : [];
  if (under[0] === "baseline" && under.length >= 3) return `baseline ${under.slice(0, 2).join("/")}`;
  if (under[0] === "saved" && under.length >= 3) return `saved ${under.slice(0, 3).join("/")}`;
  const kind = op.op === "write" || op.op === "symlink" || op.op === "mkdir" ? "write" : op.op;
  return `${kind} ${op.why} ${path.split("/").slice(0, 3).join("/")}`;
}

/** The directory a group of steps shares: the longest common parent (a made directory counts as itself). */
function sharedDir(ops: Op[]): string {
  const dirs = ops.map((op) => (op.op === "mkdir" ? op.path : posix.dirname(op.op === "rename" ? op.to : op.op === "run" ? op.cwd : op.path)).split("/"));
  const first = dirs[0]!;
  let n = first.length;
  for (const d of dirs) while (n > 0 && d.slice(0, n).join("/") !== first.slice(0, n).join("/")) n--;
  return first.slice(0, n).join("/") || "/";
}

/** `1 file`, `36 files` */
function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** How many steps of each kind `ops` holds, in words: `36 files, 9 directories`. */
function kindCounts(ops: Op[]): string[] {
  const n = (kind: Op["op"]) => ops.filter((op) => op.op === kind).length;
  const parts: Array<[number, string, string]> = [
    [n("write"), "file", "files"],
    [n("symlink"), "link", "links"],
    [n("mkdir"), "directory", "directories"],
    [n("remove"), "removal", "removals"],
    [n("rename"), "rename", "renames"],
    [n("chmod"), "mode change", "mode changes"],
    [n("run"), "command", "commands"],
  ];
  return parts.filter(([k]) => k > 0).map(([k, one, many]) => count(k, one, many));
}

/** A group of up to this many like steps is listed step by step: only bulk is counted. */
const LISTED = 3;

/** The lines of the summary for a group of steps with the same key: one, unless the group is small enough to list. */
function summaryLine(key: string, ops: Op[]): string {
  if (key.startsWith("baseline ")) {
    const stored = ops.filter((op) => op.op === "write" && op.why.startsWith("baseline copy")).length;
    const dropped = ops.filter((op) => op.op === "remove").length;
    const what = [count(stored, "file of sympl.d stored", "files of sympl.d stored"), ...(dropped ? [`${dropped} dropped`] : [])];
    return `baseline ${STATE_DIR}/${key.slice("baseline ".length)}: sympl.d as it is now, what the next sync compares with (${what.join(", ")})`;
  }
  if (key.startsWith("saved ")) {
    const copies = ops.filter((op) => op.op === "write" || op.op === "symlink").length;
    return `save    ${count(copies, "previous version", "previous versions")} in ${STATE_DIR}/${key.slice("saved ".length)}`;
  }
  if (ops.length <= LISTED) return ops.map(describeOp).join("\n  ");
  const verb = ops.every((op) => op.op === ops[0]!.op) && ops[0]!.op !== "symlink" && ops[0]!.op !== "mkdir" ? ops[0]!.op : "write";
  return `${verb.padEnd(7)} ${kindCounts(ops).join(", ")} in ${sharedDir(ops)} (${ops[0]!.why})`;
}

/**
 * A plan in a few lines for `--dry-run` (`--verbose` lists every step):
 * one heading with what the plan writes, links, saves and records, then
 * one line per group of like steps, in the order the plan first reaches
 * each group.
 */
export function summarizePlan(plan: Op[]): string[] {
  const steps = shownSteps(plan);
  if (steps.length === 0) return ["dry run: nothing to do"];
  const groups = new Map<string, Op[]>();
  for (const [i, op] of steps.entries()) {
    const key = summaryKey(op, i);
    groups.set(key, [...(groups.get(key) ?? []), op]);
  }
  const kept = [...groups].filter(([key]) => !key.startsWith("baseline ") && !key.startsWith("saved ")).flatMap(([, ops]) => ops);
  const saved = [...groups].filter(([key]) => key.startsWith("saved ")).flatMap(([, ops]) => ops.filter((op) => op.op === "write" || op.op === "symlink"));
  const baselines = [...groups.keys()].filter((key) => key.startsWith("baseline ")).map((key) => posix.basename(key));
  const heading = [
    ...kindCounts(kept).map((c) => (c.endsWith(" files") || c.endsWith(" file") ? `${c} written` : c)),
    ...(saved.length ? [count(saved.length, "saved copy", "saved copies")] : []),
    ...(baselines.length ? [`the baseline of ${baselines.join(" and ")}`] : []),
  ];
  return [`dry run: ${count(steps.length, "step", "steps")}: ${heading.join(", ")} (--verbose lists each step)`, ...[...groups].map(([key, ops]) => `  ${summaryLine(key, ops)}`)];
}

/**
 * The JSON view of a step: file contents as size and hash, not bytes; a
 * file holding the Spamhaus key as `secret: true` alone, since its hash
 * would let anyone test a guessed key offline (docs/sympl.md).
 */
export function opToJson(op: Op): Record<string, unknown> {
  if (op.op !== "write" && op.op !== "cache") return { ...op };
  const { data, ...rest } = op;
  if (KEY_DEFINE.test(data.toString("utf8"))) return { ...rest, secret: true };
  return { ...rest, bytes: data.length, sha256: sha256(data) };
}

/** True when two plans would do the same steps, byte for byte. */
export function samePlan(a: Op[], b: Op[]): boolean {
  const view = (op: Op) => (op.op === "write" || op.op === "cache" ? { ...op, data: sha256(op.data) } : op);
  return JSON.stringify(a.map(view)) === JSON.stringify(b.map(view));
}

interface JournalFile {
  version: 1;
  command: string;
  started: string;
  ops: Array<Record<string, unknown>>;
}

/**
 * What a path holds, as the journal records it: `none`, `file:SHA256`,
 * `link:TARGET`, `dir` or `other`. A replay compares the disk with these,
 * so that what someone changed after a run was cut short is never
 * overwritten (docs/architecture.md, the journal).
 */
type Stamp = string;

/** One path a step changes: what it held just before the step, and what the step leaves there. */
type Stamped = [path: ServerPath, before: Stamp, after: Stamp];

/** What a path held before a plan changed it: its stamp, and enough to put it back (undo). */
type Held =
  | { type: "none" }
  | { type: "file"; data: Buffer; attrs: Attrs }
  | { type: "link"; target: string }
  | { type: "dir"; attrs: Attrs }
  | { type: "other" };

function heldAt(sys: Reader, path: ServerPath): Held {
  const st = sys.stat(path);
  if (!st) return { type: "none" };
  const attrs = { mode: st.mode, uid: st.uid, gid: st.gid };
  if (st.type === "file") return { type: "file", data: sys.readFile(path, st.size), attrs };
  if (st.type === "link") return { type: "link", target: sys.readLink(path) };
  return st.type === "dir" ? { type: "dir", attrs } : { type: "other" };
}

function stampOfHeld(held: Held): Stamp {
  if (held.type === "file") return `file:${sha256(held.data)}`;
  if (held.type === "link") return `link:${held.target}`;
  return held.type;
}

function stampOf(sys: Reader, path: ServerPath): Stamp {
  return stampOfHeld(heldAt(sys, path));
}

/**
 * The paths a step changes and what each holds after it, given what each
 * holds before (`now`). A chmod changes no contents: a file it reaches is
 * never lost, so it is not stamped.
 */
function effects(op: Op, now: (path: ServerPath) => Stamp): Array<[ServerPath, Stamp]> {
  switch (op.op) {
    case "write":
      return [[op.path, `file:${sha256(op.data)}`]];
    case "symlink":
      return [[op.path, `link:${op.target}`]];
    case "mkdir":
      return [[op.path, "dir"]];
    case "remove":
      return [[op.path, "none"]];
    case "rename":
      return [
        [op.from, "none"],
        [op.to, now(op.from)],
      ];
    default:
      return [];
  }
}

/**
 * Stamps every step of a plan about to be applied: the disk as it is now,
 * then each step's effect in order, so that a path two steps touch is
 * stamped as the first leaves it for the second.
 */
function stampSteps(sys: Reader, ops: Op[]): { stamps: Stamped[][]; held: Map<ServerPath, Held> } {
  const held = new Map<ServerPath, Held>();
  const known = new Map<ServerPath, Stamp>();
  const now = (path: ServerPath): Stamp => {
    let stamp = known.get(path);
    if (stamp === undefined) {
      const was = heldAt(sys, path);
      held.set(path, was);
      known.set(path, (stamp = stampOfHeld(was)));
    }
    return stamp;
  };
  const stamps = ops.map((op) => {
    const rows = effects(op, now).map(([path, after]): Stamped => [path, now(path), after]);
    for (const [path, , after] of rows) known.set(path, after);
    return rows;
  });
  return { stamps, held };
}

/**
 * Puts `paths` back as `held` says they were before the plan: first what
 * the plan made where nothing was is taken away, deepest first, then what
 * was there is put back, shallowest first.
 */
function undo(sys: System, held: Map<ServerPath, Held>, paths: ServerPath[]): void {
  const depth = (p: ServerPath) => p.split("/").length;
  const changed = [...new Set(paths)].filter((p) => stampOf(sys, p) !== stampOfHeld(held.get(p)!));
  for (const path of changed.sort((a, b) => depth(b) - depth(a))) if (held.get(path)!.type === "none") sys.remove(path);
  for (const path of changed.reverse()) {
    const was = held.get(path)!;
    if (was.type === "file") sys.writeFile(path, was.data, was.attrs);
    else if (was.type === "link") sys.symlink(was.target, path);
    else if (was.type === "dir") sys.mkdir(path, was.attrs);
  }
  sys.flush();
}

function encode(op: Op, stamps: Stamped[]): Record<string, unknown> {
  return op.op === "write" ? { ...op, data: op.data.toString("base64"), stamps } : { ...op, stamps };
}

/** A journalled step as read back: the step and its stamps (none in a journal written without them). */
interface Replayed {
  op: Op;
  stamps: Stamped[] | null;
}

/**
 * One journalled step checked field by field before it is replayed as
 * root: a step of a known kind, absolute server paths without `..` or NUL,
 * contents in base64, whole-number attributes, stamps naming such paths.
 * Returns what is wrong, or the step (null for a `run` step, which is
 * never replayed).
 */
function decode(raw: unknown): Replayed | null | string {
  if (typeof raw !== "object" || raw === null) return "a step is not an object";
  const op = decodeOp(raw as Record<string, unknown>);
  if (op === null || typeof op === "string") return op;
  const stamps = (raw as Record<string, unknown>).stamps;
  if (stamps === undefined) return { op, stamps: null };
  const valid = (row: unknown): row is Stamped =>
    Array.isArray(row) && row.length === 3 && row.every((v) => typeof v === "string") && isJournalPath(row[0] as string);
  if (!Array.isArray(stamps) || !stamps.every(valid)) return `the stamps of the ${op.op} step are malformed`;
  return { op, stamps: stamps.map(([path, before, after]) => [serverPath(path), before, after]) };
}

/** True for a path a journal may name: absolute, without `..` or NUL. */
function isJournalPath(v: string): boolean {
  return v.startsWith("/") && !v.includes("\0") && !v.split("/").includes("..");
}

/** The step of one journal entry, checked (see decode). */
function decodeOp(r: Record<string, unknown>): Op | null | string {
  const path = (key: string): ServerPath | null => {
    const v = r[key];
    return typeof v === "string" && isJournalPath(v) ? serverPath(v) : null;
  };
  const attrs: Attrs = {};
  for (const key of ["mode", "uid", "gid"] as const) {
    const v = r[key];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || (key === "mode" && v > 0o7777)) return `${key} is not a valid number`;
    attrs[key] = v;
  }
  const why = typeof r.why === "string" ? r.why : "";
  switch (r.op) {
    case "write": {
      const p = path("path");
      if (!p) return "a write step without an absolute path";
      if (typeof r.data !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(r.data)) return `the write of ${p} has no base64 contents`;
      return { op: "write", path: p, data: Buffer.from(r.data, "base64"), why, ...attrs };
    }
    case "symlink": {
      const p = path("path");
      if (!p || typeof r.target !== "string" || r.target === "" || r.target.includes("\0")) return "a symlink step without an absolute path and a target";
      return { op: "symlink", path: p, target: r.target, why, ...attrs };
    }
    case "mkdir": {
      const p = path("path");
      return p ? { op: "mkdir", path: p, why, ...attrs } : "a mkdir step without an absolute path";
    }
    case "chmod": {
      const p = path("path");
      if (!p) return "a chmod step without an absolute path";
      return attrs.mode === undefined ? `the chmod of ${p} has no mode` : { op: "chmod", path: p, mode: attrs.mode, why };
    }
    case "remove": {
      const p = path("path");
      return p && p !== "/" ? { op: "remove", path: p, why } : "a remove step without an absolute path";
    }
    case "rename": {
      const from = path("from");
      const to = path("to");
      return from && to ? { op: "rename", from, to, why } : "a rename step without two absolute paths";
    }
    case "run":
      return null;
    default:
      return `unknown step ${JSON.stringify(r.op)}`;
  }
}

/**
 * What a failed `run` step (make) said, for one line: the daemon's refusal
 * in our words when make's test printed one (the `APP.conf.tmp` it names
 * is read in the step's directory to find the snippet), else make's last
 * lines; masked either way (daemon-words.ts).
 */
function runWords(sys: System, op: Extract<Op, { op: "run" }>, output: string): { said: string; source?: Source } {
  const app = op.cwd ? posix.basename(op.cwd) : "";
  if (op.cwd && (app === "exim4" || app === "dovecot")) {
    const dir = op.cwd;
    const words = daemonWords(app, output, (named) => {
      const tmp = childPath(dir, posix.basename(named));
      return tmp.endsWith(".conf.tmp") && sys.stat(tmp)?.type === "file" ? sys.readFile(tmp).toString("utf8") : null;
    });
    // Its first line is the located refusal; make's echo of the command and its own error add nothing.
    if (words.source) return { said: words.text.split("\n")[0]!, source: words.source };
  }
  return { said: maskKey(output).split("\n").slice(-3).join(" | ") };
}

/** Undoes the steps that `done` stamps and removes the journal; false (the journal stays) when that fails too. */
function undone(sys: System, held: Map<ServerPath, Held>, done: Stamped[]): boolean {
  try {
    undo(sys, held, done.map(([path]) => path));
    sys.remove(JOURNAL);
    sys.flush();
    return true;
  } catch {
    return false;
  }
}

/** Runs one step. Written so that running it twice leaves what running it once did. */
async function perform(sys: System, op: Op): Promise<void> {
  switch (op.op) {
    case "write":
      sys.writeFile(op.path, op.data, { mode: op.mode, uid: op.uid, gid: op.gid });
      return;
    case "symlink":
      sys.symlink(op.target, op.path, { uid: op.uid, gid: op.gid });
      return;
    case "mkdir":
      sys.mkdir(op.path, { mode: op.mode, uid: op.uid, gid: op.gid });
      return;
    case "chmod":
      sys.chmod(op.path, op.mode);
      return;
    case "remove":
      sys.remove(op.path);
      return;
    case "rename":
      // Replayed after the rename already happened: nothing left to move.
      if (!sys.stat(op.from) && sys.stat(op.to)) return;
      sys.rename(op.from, op.to);
      return;
    case "run": {
      const result = await sys.act(op.cmd, op.args, { cwd: op.cwd, ...(op.input === undefined ? {} : { input: op.input }) });
      if (result.exitCode !== 0) {
        const { said, source } = runWords(sys, op, `${result.stderr}\n${result.stdout}`.trim());
        throw new EnvironmentError(problem(op.cwd, `${[op.cmd, ...op.args].join(" ")} failed (exit ${result.exitCode}): ${said}`, undefined, source));
      }
      return;
    }
  }
}

/**
 * Applies `ops`: first every file step, with a journal in the state dir
 * while they run, then the `run` steps (rebuilding the config). On a failed
 * file step the error says how far the plan got and the journal stays, so
 * the next run finishes it. `run` steps are not journalled: a rebuild the
 * daemon refused must not be replayed by every later command; the admin
 * reruns it once the snippet is fixed. `cache` steps come between the two
 * (refreshCache). The journal and the action log are dated by `now` (the
 * run's clock, `Context.now`). Returns the notes for the admin (a cache
 * that could not be written).
 */
export async function applyPlan(sys: System, command: string, ops: Op[], now: () => Date, run = ""): Promise<string[]> {
  const fileOps = ops.filter((op) => op.op !== "run" && op.op !== "cache");
  const runOps = ops.filter((op) => op.op === "run");
  const notes: string[] = [];
  if (fileOps.length > 0) {
    const { stamps, held } = stampSteps(sys, fileOps);
    const journal: JournalFile = { version: 1, command, started: now().toISOString(), ops: fileOps.map((op, i) => encode(op, stamps[i]!)) };
    sys.mkdir(STATE_DIR, { mode: 0o755 });
    sys.writeFile(JOURNAL, JSON.stringify(journal), { mode: 0o600 });
    for (const [i, op] of fileOps.entries()) {
      try {
        await perform(sys, op);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        // A refusal would meet a replay too: this run takes its own steps back rather than leave a journal no run can finish.
        if (err instanceof RefusedError && undone(sys, held, stamps.slice(0, i).flat())) {
          throw new RefusedError(`${msg} (step ${i + 1} of ${fileOps.length}; the steps before it were undone: nothing was changed)`);
        }
        // What was done before the failure stays on the server: the log says so (the failure itself is logged by the run's end).
        logActions(sys, run, command, fileOps.slice(0, i), now());
        const where = `step ${i + 1} of ${fileOps.length}; steps before it are done, the rest is journalled in ${JOURNAL} and the next run finishes it`;
        // A bug of ours stays one (reported as internal, exit 70), not "environment".
        if (!(err instanceof UserError) && !isSystemFailure(err)) throw new Error(`${msg} (${where})`, { cause: err });
        throw new EnvironmentError(`${msg} (${where})`);
      }
    }
    // The journal may go only once every step it describes is on disk.
    sys.flush();
    sys.remove(JOURNAL);
    sys.flush();
    logActions(sys, run, command, fileOps, now());
  }
  for (const op of ops) {
    if (op.op !== "cache") continue;
    const note = refreshCache(sys, op);
    if (note) notes.push(note);
  }
  for (const op of runOps) {
    await perform(sys, op);
    logActions(sys, run, command, [op], now());
  }
  return notes;
}

/**
 * Writes a `cache` step's file unless it holds those bytes already (so a
 * run with nothing to do writes nothing). A failure of the system is
 * returned as a note; a bug of ours is still thrown. applyPlan runs it for
 * every `cache` step; a reading command may run it alone on a System that
 * may write caches only.
 */
export function refreshCache(sys: System, op: CacheOp): string | null {
  try {
    if (sys.stat(op.path)?.type === "file" && sys.readFile(op.path).equals(op.data)) return null;
    sys.mkdir(serverPath(posix.dirname(op.path)), { mode: 0o700 });
    sys.writeFile(op.path, op.data, { mode: 0o600 });
    return null;
  } catch (err) {
    if (!(err instanceof UserError) && !isSystemFailure(err)) throw err;
    return `${op.path}: ${op.why} not written (${err.message}); being a cache, nothing else is affected`;
  }
}

/**
 * True for a step worth a line in the action log: what changed on the
 * server, and where a previous version went (`saved/`); not the tool's
 * own bookkeeping (journal, baseline, records, caches).
 */
function logged(op: Op): boolean {
  if (op.op === "run") return true;
  const path = op.op === "rename" ? op.to : op.path;
  if (!path.startsWith(`${STATE_DIR}/`)) return true;
  return path.startsWith(`${STATE_DIR}/saved/`) && op.op !== "mkdir";
}

/**
 * Appends one line per step to the action log: time, the run (`run`:
 * `pid=N user=NAME`), command, the step as `describeOp` words it (paths
 * and the reason, never a file's contents, so no secret).
 */
function logActions(sys: System, run: string, command: string, ops: Op[], now: Date): void {
  appendLog(sys, ops.filter(logged).map((op) => logLine(now, run, command, describeOp(op).replace(/ +/, " "))));
}

/** One line of the action log. */
function logLine(now: Date, run: string, command: string, what: string): string {
  return `${now.toISOString()} ${run ? `${run} ` : ""}${command}: ${what}\n`;
}

/**
 * Logs the end of a run that failed (`FAILED (exit 3): …`, the error's
 * one line) or left something for the admin (`exit 1: …`, each problem
 * the run reported), so that the log tells what every run came to, not
 * only what it changed. The key is masked (maskKey) should a daemon's
 * complaint quote it.
 */
export function logOutcome(sys: System, run: string, command: string, code: number, said: string[], now: Date): void {
  const head = code === 1 ? "exit 1" : `FAILED (exit ${code})`;
  appendLog(sys, said.map((line) => logLine(now, run, command, `${head}: ${maskKey(line).replace(/\n/g, " | ")}`)));
}

/** Appends lines to the action log. A log that cannot be written does not undo or fail a change already made. */
function appendLog(sys: System, lines: string[]): void {
  if (lines.length === 0) return;
  try {
    const before = sys.stat(ACTION_LOG)?.type === "file" ? sys.readFile(ACTION_LOG) : Buffer.alloc(0);
    sys.mkdir(serverPath(posix.dirname(ACTION_LOG)), { mode: 0o755 });
    sys.writeFile(ACTION_LOG, Buffer.concat([before, Buffer.from(lines.join(""))]), { mode: 0o640 });
  } catch {
    // The change is made; the missing log lines are the lesser loss.
  }
}

/** The journal of an interrupted run, as status and doctor report it; null when there is none. */
export function pendingJournal(sys: Reader): { command: string; started: string } | null {
  if (!sys.stat(JOURNAL)) return null;
  try {
    const journal = JSON.parse(sys.readFile(JOURNAL).toString("utf8")) as Partial<JournalFile>;
    return { command: typeof journal.command === "string" ? journal.command : "unknown", started: typeof journal.started === "string" ? journal.started : "unknown" };
  } catch {
    return { command: "unknown", started: "unknown" };
  }
}

/** What status and doctor say of a pending journal: the fix. */
export const PENDING_JOURNAL_FIX = "run `makefilecheck repair` (or any command that changes something): it finishes that run first";

/**
 * Finishes a plan that an earlier run left half-applied. Returns a line to
 * report, or null when there was nothing to finish. The disk must be as
 * the journal's stamps say some number of its steps left it: then the
 * rest is replayed. A path that holds anything else was changed after the
 * run was cut short; then nothing is replayed (setAside).
 */
export async function finishInterrupted(sys: System, now: Date): Promise<string | null> {
  const st = sys.stat(JOURNAL);
  if (!st) return null;
  const refuse = (what: string) =>
    new EnvironmentError(
      problem(JOURNAL, `journal of an interrupted run ${what}; nothing of it was replayed`, "look at it and at what it names, put right by hand what it was doing, then remove it to continue"),
    );
  let journal: JournalFile;
  try {
    journal = JSON.parse(sys.readFile(JOURNAL).toString("utf8")) as JournalFile;
  } catch {
    throw refuse("is not valid JSON");
  }
  if (typeof journal !== "object" || journal === null || journal.version !== 1 || !Array.isArray(journal.ops)) throw refuse("is not a makefilecheck journal");
  // Every step is checked before the first is replayed. Journals of older runs may hold a rebuild step; it is not replayed.
  const steps: Replayed[] = [];
  for (const [i, raw] of journal.ops.entries()) {
    const step = decode(raw);
    if (typeof step === "string") throw refuse(`is malformed at step ${i + 1}: ${step}`);
    if (step) steps.push(step);
  }
  const run = `the interrupted \`${journal.command}\` run of ${journal.started}`;
  if (steps.some((s) => s.stamps === null && effects(s.op, () => "none").length > 0)) {
    return setAside(sys, run, [], now, "its journal has no stamps to tell what it did from what was changed since");
  }
  const resume = resumePoint(sys, steps.map((s) => s.stamps ?? []));
  if (resume.changed.length > 0) return setAside(sys, run, resume.changed, now, "changed after the run was cut short");
  for (const step of steps.slice(resume.done)) await perform(sys, step.op);
  sys.flush();
  sys.remove(JOURNAL);
  sys.flush();
  return `finished ${run}`;
}

/**
 * How many steps of a journal are done, from the disk and the steps'
 * stamps: the first k for which every stamped path holds what the first k
 * steps leave there (the first: a step that changes no stamp, a chmod, is
 * done again, which is harmless). When none fits, `changed` holds the
 * paths that differ from the closest k: what someone changed since.
 */
function resumePoint(sys: Reader, stamps: Stamped[][]): { done: number; changed: ServerPath[] } {
  const actual = new Map<ServerPath, Stamp>();
  const expected = new Map<ServerPath, Stamp>();
  for (const [path, before] of stamps.flat()) {
    if (!actual.has(path)) actual.set(path, stampOf(sys, path));
    if (!expected.has(path)) expected.set(path, before);
  }
  let differ = [...expected].filter(([path, stamp]) => actual.get(path) !== stamp).length;
  let best = { done: 0, differ };
  for (const [i, rows] of stamps.entries()) {
    for (const [path, , after] of rows) {
      if (expected.get(path) !== actual.get(path)) differ -= 1;
      expected.set(path, after);
      if (after !== actual.get(path)) differ += 1;
    }
    if (differ < best.differ) best = { done: i + 1, differ };
  }
  if (best.differ === 0) return { done: best.done, changed: [] };
  // The paths that differ at the closest point, worked out again from the start.
  const at = new Map<ServerPath, Stamp>();
  for (const [path, before] of stamps.flat()) if (!at.has(path)) at.set(path, before);
  for (const [path, , after] of stamps.slice(0, best.done).flat()) at.set(path, after);
  return { done: best.done, changed: [...at].filter(([path, stamp]) => actual.get(path) !== stamp).map(([path]) => path) };
}

/**
 * Leaves an interrupted run as it is, replaying none of it: a copy of
 * each file in `changed` (they stay in place) and the journal go to
 * saved/interrupted/TIME (0600: a copy may hold the Spamhaus key), and
 * the line for the admin says so. The command then plans from the files
 * as they are, as if the interrupted run had not been.
 */
function setAside(sys: System, run: string, changed: ServerPath[], now: Date, why: string): string {
  const dir = childPath(childPath(childPath(STATE_DIR, "saved"), "interrupted"), now.toISOString().replace(/\.\d+Z$/, "Z").replace(/:/g, "-"));
  sys.mkdir(dir, { mode: 0o700 });
  const copied: ServerPath[] = [];
  for (const path of changed) {
    const st = sys.stat(path);
    if (st?.type !== "file") continue;
    const copy = serverPath(`${dir}${path}`);
    sys.mkdir(serverPath(posix.dirname(copy)), { mode: 0o700 });
    sys.writeFile(copy, sys.readFile(path, st.size), { mode: 0o600 });
    copied.push(path);
  }
  sys.rename(JOURNAL, childPath(dir, "journal.json"));
  sys.flush();
  const what = changed.length ? `${changed.join(", ")} ${changed.length === 1 ? "was" : "were"} ${why}` : why;
  const kept = copied.length ? `left as ${changed.length === 1 ? "it is" : "they are"}, with a copy in ${dir}; ` : "";
  return `not finished: ${run}: ${what}, so none of it was replayed; ${kept}its journal is kept in ${dir}, and this run plans from the files as they are now`;
}

/** What each path a plan writes, links, makes or removes will hold once it is applied: the contents of a PlannedView. */
export function plannedContents(ops: Op[]): Map<ServerPath, Planned> {
  const planned = new Map<ServerPath, Planned>();
  for (const op of ops) {
    if (op.op === "write") planned.set(op.path, { type: "file", data: op.data, mode: op.mode ?? 0o644 });
    else if (op.op === "symlink") planned.set(op.path, { type: "link", target: op.target });
    else if (op.op === "mkdir") planned.set(op.path, { type: "dir", mode: op.mode ?? 0o755 });
    else if (op.op === "remove") planned.set(op.path, null);
  }
  return planned;
}

/**
 * The app a step belongs to, for the per-app `changed` of --json: its
 * files under /etc/APP, and its own state (STATE_DIR/APP.json, and
 * STATE_DIR/KIND/APP/... for baselines and saved copies); null for a step
 * of no one app (the triggers, the settings file).
 */
export function appOfStep(op: Op): App | null {
  const path = op.op === "rename" ? op.to : op.op === "run" ? op.cwd : op.path;
  for (const app of APPS) {
    const own = [appPaths(app).dir, childPath(STATE_DIR, `${app}.json`)];
    if (own.some((p) => path === p || path.startsWith(`${p}/`))) return app;
    if (path.startsWith(`${STATE_DIR}/`) && path.slice(STATE_DIR.length + 1).split("/")[1] === app) return app;
  }
  return null;
}

/** One file a plan would change, as text: null where nothing is (before it is made, after it is removed). */
export interface FileChange {
  path: ServerPath;
  before: string | null;
  after: string | null;
}

/** What a file holding the Spamhaus key shows instead of its text. */
export const MASKED = "(masked)";

/** The settings file's line of the key, with a value. */
const SETTINGS_KEY_LINE = /^\s*AUTO_SPAMHAUS_DB_KEY\s*=\s*['"]?[^\s'"]/m;

/** True when `text` at `path` holds the Spamhaus key (the key file, an exim define of it, the settings file's line): it is shown masked. */
function holdsKey(path: ServerPath, text: string | null): boolean {
  return path === SPAMHAUS_KEY_PATH || (text !== null && (KEY_DEFINE.test(text) || SETTINGS_KEY_LINE.test(text)));
}

/** Bytes as the text a diff shows: UTF-8 text as it is, anything else described. */
function shownBytes(data: Buffer): string {
  const text = data.toString("utf8");
  return data.includes(0) || !Buffer.from(text, "utf8").equals(data) ? `(binary, ${data.length} bytes)` : text;
}

/** What is at `path` now, as a diff shows it: a link as `symlink to TARGET`, null when nothing is there. */
function shownNow(sys: Reader, path: ServerPath): string | null {
  const st = sys.stat(path);
  if (!st) return null;
  if (st.type === "file") return shownBytes(sys.readFile(path, st.size));
  if (st.type === "link") return `symlink to ${sys.readLink(path)}\n`;
  return `(${st.type === "dir" ? "directory" : st.type})`;
}

/**
 * The admin's files a plan would change, each with its text now and after
 * the plan (for `--dry-run --json`, which Ansible's check and diff modes
 * read). The state directory is left out: it is makefilecheck's own
 * bookkeeping (baselines, saved copies), nobody's config. The built config
 * (made by `make`) is not predicted. A file holding the Spamhaus key shows
 * MASKED on both sides.
 */
export function fileChanges(sys: Reader, plan: Op[]): FileChange[] {
  const after = new Map<ServerPath, string | null>();
  const planned = (p: ServerPath) => (after.has(p) ? (after.get(p) ?? null) : shownNow(sys, p));
  for (const op of plan) {
    if (op.op === "write") after.set(op.path, shownBytes(op.data));
    else if (op.op === "symlink") after.set(op.path, `symlink to ${op.target}\n`);
    else if (op.op === "remove") after.set(op.path, null);
    else if (op.op === "rename") {
      after.set(op.to, planned(op.from));
      after.set(op.from, null);
    }
  }
  const changes: FileChange[] = [];
  for (const [path, next] of after) {
    if (path === STATE_DIR || path.startsWith(`${STATE_DIR}/`)) continue;
    const before = shownNow(sys, path);
    if (before === next) continue;
    const masked = holdsKey(path, before) || holdsKey(path, next);
    changes.push({ path, before: masked && before !== null ? MASKED : before, after: masked && next !== null ? MASKED : next });
  }
  return changes;
}
