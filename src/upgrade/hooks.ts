/**
 * `makefilecheck hooks`: print the upgrade triggers; `--install` writes them
 * and enables the path unit the way `systemctl enable` would (a link in
 * paths.target.wants); `--remove` takes out what is still ours. Files
 * someone else wrote or changed into something else are never touched.
 * Under the Debian package, whose units sit in /usr/lib/systemd/system,
 * `--install` enables those and writes only a drop-in with this host's
 * options; the package's prerm runs `--remove`.
 */
import { posix } from "node:path";
import { optionsOf } from "../args.js";
import type { CommandOptions } from "../args.js";
import type { Args, CommandResult, Context } from "../context.js";
import { apply, finishInterruptedFirst, withLock } from "../context.js";
import { Exit, InputError, problem } from "../errors.js";
import { resolveLinkTarget } from "../system/safe-path.js";
import type { Op } from "../plan.js";
import { installedBinary } from "../system/launcher.js";
import type { Reader } from "../system/system.js";
import { checkBin, DROP_IN, DROP_IN_DIR, ENABLE_LINK, hookFiles, isOurs, PACKAGED_UNIT_DIR, PATH_UNIT, UNIT_DIR } from "./hook-files.js";
import type { HookFile, HookKind } from "./hook-files.js";
import { childPath, serverPath } from "../paths.js";
import type { ServerPath } from "../paths.js";

/** What became, or would become, of one file. */
interface FileState {
  path: ServerPath;
  kind: HookKind;
  state: "write" | "unchanged" | "not ours" | "remove" | "absent";
}

const START_HINT = `systemd: run \`systemctl daemon-reload && systemctl start ${PATH_UNIT}\` to start watching now (it is enabled for the next boot)`;
const STOP_HINT = `systemd: run \`systemctl stop ${PATH_UNIT}; systemctl daemon-reload\` if it was running`;

/** The file's text when it is a regular file, null when nothing is there, undefined for anything else. */
function currentText(sys: Reader, path: ServerPath): string | null | undefined {
  const st = sys.stat(path);
  if (!st) return null;
  return st.type === "file" ? sys.readFile(path).toString("utf8") : undefined;
}

/** True when the Debian package's units are installed (see PACKAGED_UNIT_DIR). */
function isPackaged(sys: Reader): boolean {
  return sys.stat(childPath(PACKAGED_UNIT_DIR, PATH_UNIT))?.type === "file";
}

/** The path unit the enable link leads to: the package's, else the one `hooks --install` writes. */
function enabledUnit(packaged: boolean): ServerPath {
  return childPath(packaged ? PACKAGED_UNIT_DIR : UNIT_DIR, PATH_UNIT);
}

/** True when the enable link exists and leads to our path unit or the package's. */
function isOurEnableLink(sys: Reader): boolean {
  if (sys.stat(ENABLE_LINK)?.type !== "link") return false;
  const target = resolveLinkTarget(ENABLE_LINK, sys.readLink(ENABLE_LINK));
  return target === enabledUnit(true) || target === enabledUnit(false);
}

/** The steps that create `dir` when it is missing. */
function mkdirIfMissing(sys: Reader, dir: ServerPath): Op[] {
  return sys.stat(dir) ? [] : [{ op: "mkdir", path: dir, mode: 0o755, why: "holds the upgrade trigger" }];
}

/** Plans writing `files`; a file that is there and not ours blocks the whole install. */
function planTriggerInstall(sys: Reader, files: HookFile[], packaged: boolean): { ops: Op[]; states: FileState[] } {
  const ops: Op[] = [];
  const states: FileState[] = files.map((f) => {
    const text = currentText(sys, f.path);
    if (text === f.text) return { path: f.path, kind: f.kind, state: "unchanged" };
    if (text === undefined || (text !== null && !isOurs(text))) return { path: f.path, kind: f.kind, state: "not ours" };
    ops.push(...mkdirIfMissing(sys, serverPath(posix.dirname(f.path))));
    ops.push({ op: "write", path: f.path, data: Buffer.from(f.text), mode: 0o644, why: `${f.kind} upgrade trigger` });
    return { path: f.path, kind: f.kind, state: "write" };
  });
  if (files.some((f) => f.kind === "systemd") && !sys.stat(ENABLE_LINK)) {
    ops.push(...mkdirIfMissing(sys, serverPath(posix.dirname(ENABLE_LINK))));
    ops.push({ op: "symlink", path: ENABLE_LINK, target: enabledUnit(packaged), why: "enable the path unit at boot" });
  }
  const blocked = states.some((s) => s.state === "not ours");
  return { ops: blocked ? [] : dedupe(ops), states };
}

/** Drops repeated mkdir steps (two files in one new directory). */
function dedupe(ops: Op[]): Op[] {
  const seen = new Set<ServerPath>();
  return ops.filter((op) => op.op !== "mkdir" || (!seen.has(op.path) && seen.add(op.path)));
}

/** Plans removing what is still ours among `files`, and the enable link. */
function planRemove(sys: Reader, files: HookFile[]): { ops: Op[]; states: FileState[] } {
  const ops: Op[] = [];
  if (files.some((f) => f.kind === "systemd") && isOurEnableLink(sys)) {
    ops.push({ op: "remove", path: ENABLE_LINK, why: "disable the path unit" });
  }
  const states: FileState[] = files.map((f) => {
    const text = currentText(sys, f.path);
    if (text === null) return { path: f.path, kind: f.kind, state: "absent" };
    if (text === undefined || !isOurs(text)) return { path: f.path, kind: f.kind, state: "not ours" };
    ops.push({ op: "remove", path: f.path, why: `${f.kind} upgrade trigger` });
    return { path: f.path, kind: f.kind, state: "remove" };
  });
  // The drop-in directory is made for our file alone; anything else in it is the admin's.
  if (ops.some((op) => op.op === "remove" && op.path === DROP_IN) && sys.list(DROP_IN_DIR).length === 1) {
    ops.push({ op: "remove", path: DROP_IN_DIR, why: "held only the drop-in" });
  }
  return { ops, states };
}

/** Human lines for the file states, with the next step. */
function describe(sys: Reader, states: FileState[], verb: { write: string; remove: string }, hint: string | null): string[] {
  const words: Record<FileState["state"], string> = {
    write: verb.write,
    remove: verb.remove,
    unchanged: "already in place",
    absent: "not there",
    "not ours": "NOT OURS: left alone (no makefilecheck-hook marker); move it away or merge it by hand",
  };
  const lines = states.map((s) => `${sys.hostPath(s.path)}: ${words[s.state]}`);
  return hint ? [...lines, hint] : lines;
}

/** The hooks command's options. */
type HooksOptions = CommandOptions["hooks"];

/** The binary to write into the files: --bin, else where this one is installed. */
function binOf(o: HooksOptions): string {
  const bin = o.bin ?? installedBinary();
  if (!bin) throw new InputError(problem("--bin", "cannot tell where makefilecheck is installed", "give --bin /usr/local/bin/makefilecheck"));
  return checkBin(bin);
}

/** The trigger files for this host: under the package, a drop-in in place of units of our own. */
function triggerFiles(sys: Reader, o: HooksOptions, kind: HookKind | undefined, packaged = isPackaged(sys)): HookFile[] {
  return hookFiles({ bin: binOf(o), make: o.make, packaged }, kind);
}

/** What `--remove` takes out: this host's files, and what the other way of installing left (units of a tool since packaged, or a drop-in). */
function removable(sys: Reader, o: HooksOptions, kind: HookKind | undefined): HookFile[] {
  const files = triggerFiles(sys, o, kind);
  const others = triggerFiles(sys, o, kind, !isPackaged(sys)).filter((f) => !files.some((g) => g.path === f.path) && sys.stat(f.path));
  return [...files, ...others];
}

/**
 * Plans `--install`. Without --only, one route, not two (both would run
 * the job after each upgrade): under the Debian package its dpkg trigger
 * (the consent file), which runs within every package run; else the apt
 * hook. What is ours of the other routes is taken out.
 */
function planInstallOne(sys: Reader, o: HooksOptions): { ops: Op[]; states: FileState[] } {
  const packaged = isPackaged(sys);
  const kind: HookKind = o.only ?? (packaged ? "dpkg" : "apt");
  const install = planTriggerInstall(sys, triggerFiles(sys, o, kind), packaged);
  if (o.only) return install;
  const others = (["dpkg", "apt", "systemd"] as const).filter((k) => k !== kind).map((k) => planRemove(sys, removable(sys, o, k)));
  const gone = others.flatMap((r) => r.states.filter((s) => s.state === "remove"));
  return { ops: [...install.ops, ...others.flatMap((r) => r.ops)], states: [...install.states, ...gone] };
}

/** The hooks command. */
export async function hooks(ctx: Context, args: Args): Promise<CommandResult> {
  const o = optionsOf("hooks", args);
  if (!o.install && !o.remove) {
    const files = triggerFiles(ctx.sys, o, o.only);
    const lines = files.flatMap((f) => [`==> ${f.path} (${f.kind})`, ...f.text.trimEnd().split("\n"), ""]);
    return { code: Exit.ok, apps: [], lines, data: { files } };
  }
  await finishInterruptedFirst(ctx);
  const installing = o.install;
  const { ops, states } = installing ? planInstallOne(ctx.sys, o) : planRemove(ctx.sys, removable(ctx.sys, o, o.only));
  const refused = states.some((s) => s.state === "not ours");
  if (!refused || !installing) await withLock(ctx, () => apply(ctx, installing ? "hooks --install" : "hooks --remove", ops));
  const systemdTouched = ops.some((op) => "path" in op && op.path.startsWith(UNIT_DIR));
  const hint = refused && installing ? "nothing was written" : systemdTouched ? (installing ? START_HINT : STOP_HINT) : null;
  const lines = describe(ctx.sys, states, { write: ctx.dryRun ? "would write" : "written", remove: ctx.dryRun ? "would remove" : "removed" }, hint);
  return { code: refused ? Exit.actionNeeded : Exit.ok, apps: [], lines, plan: ops, data: { files: states } };
}
