/**
 * Plans that change which Makefile is live: switching to a mode (what `use`
 * and `repair` do) and going back to the plain upstream Makefile (`revert`).
 * Pure functions over an Observation: they return plan steps and the lines
 * to tell the admin; the commands check, lock and apply.
 *
 * Both variants are always re-derived from the newest upstream text the
 * setup holds. A file we replace or remove is first copied to the state dir
 * when it holds text we did not derive (the admin's own edit).
 */
import { posix } from "node:path";
import { EnvironmentError, InputError, problem } from "../errors.js";
import { sha256 } from "../hash.js";
import type { Mode } from "../server-layout.js";
import { appPaths, snippetDir, variantPath } from "../server-layout.js";
import type { Op } from "../plan.js";
import { deriveVariant, modeOfReading, readMakefile } from "./makefile.js";
import type { Observation, Seen } from "./observe.js";
import type { Detection, UpstreamSource } from "./profile.js";
import { detectProfile, findUpstream } from "./profile.js";
import { savedRoot } from "../saved.js";
import { planForget, planRecord, recordOf, stamp } from "./state.js";
import { childPath, serverPath } from "../paths.js";

/** A plan for one app and what to tell the admin about it. */
export interface SwitchPlan {
  ops: Op[];
  lines: string[];
  /** Whether the config `make` builds changes (the Makefile link or the live variant). */
  liveChanged: boolean;
}

const MODES = ["local", "sympl"] as const;
const other = (m: Mode): Mode => (m === "local" ? "sympl" : "local");

/** Refuses to plan on a setup detection found unusable. */
export function refuseFatal(det: Detection): void {
  if (det.profile !== "fatal") return;
  const msg = det.problem ?? `${det.app}: setup is unusable`;
  throw det.code === 2 ? new InputError(msg) : new EnvironmentError(msg);
}

/**
 * Whether a variant's text holds an edit of the admin's: it is neither the
 * upstream text itself, nor what we recorded writing, nor (with no record)
 * the counterpart of the other variant or of its own `.dpkg-old`.
 */
function isEdited(obs: Observation, seen: Seen, mode: Mode, up: UpstreamSource): boolean {
  const text = seen.text ?? "";
  if (text === up.text || text === deriveVariant(up.from, up.text, mode)) return false;
  const recorded = obs.recorded?.variants[posix.basename(seen.path)];
  if (recorded) return sha256(text) !== recorded;
  const counterpart = deriveVariant(seen.path, text, other(mode));
  const otherPath = variantPath(obs.app, other(mode));
  const witnesses = [obs.makefileLocal, obs.makefileSympl, ...obs.leftovers].filter(
    (s) => s.kind === "file" && (s.path === otherPath || s.path === `${otherPath}.dpkg-old`),
  );
  return !witnesses.some((s) => s.text === counterpart);
}

/** Steps keeping a copy of `seen` in the state dir, and the line saying where. */
function saveCopy(obs: Observation, seen: Seen, now: Date, lines: string[]): Op[] {
  const dir = savedRoot(obs.app);
  const to = childPath(dir, `${posix.basename(seen.path)}.${stamp(now)}`);
  lines.push(`${obs.app}: ${seen.path} held your own edits; a copy is kept in ${to}`);
  return [
    { op: "mkdir", path: dir, mode: 0o700, why: "copies of replaced files" },
    { op: "write", path: to, data: Buffer.from(seen.text ?? ""), mode: 0o600, why: `your edited ${posix.basename(seen.path)}` },
  ];
}

/** Steps taking each Makefile leftover in: a copy in the state dir, then the leftover removed. */
function consume(obs: Observation, up: UpstreamSource, now: Date, lines: string[]): Op[] {
  const dir = savedRoot(obs.app);
  const ops: Op[] = up.consumes.length ? [{ op: "mkdir", path: dir, mode: 0o700, why: "copies of replaced files" }] : [];
  for (const left of up.consumes) {
    const to = childPath(dir, `${posix.basename(left.path)}.${stamp(now)}`);
    const how = left.path === up.from ? "took in the new upstream Makefile" : "took in";
    lines.push(`${obs.app}: ${how} ${left.path} (removed; a copy is kept in ${to})`);
    ops.push(
      { op: "write", path: to, data: Buffer.from(left.text ?? ""), mode: 0o600, why: `the leftover ${posix.basename(left.path)}` },
      { op: "remove", path: left.path, why: "taken in; a copy is kept" },
    );
  }
  return ops;
}

/**
 * The text the packaged Makefile must hold: the one whose md5 is dpkg's
 * record when the command found it; with a record but no such text, the
 * Makefile itself when it is a plain file reading sympl.d; where dpkg has
 * no record (no package owns the file: test trees, a hand-made setup), the
 * plain variant of the newest upstream text.
 */
function packagedText(obs: Observation, up: UpstreamSource): string {
  if (obs.packaged?.text) return obs.packaged.text;
  const mk = obs.makefile;
  if (obs.packaged && mk.kind === "file" && modeOfReading(readMakefile(mk.path, mk.text ?? "")) === "sympl") return mk.text ?? "";
  return deriveVariant(up.from, up.text, "sympl");
}

/** Steps making `Makefile` the plain packaged file again, keeping an edited one; empty when it is already. */
function restorePackaged(obs: Observation, up: UpstreamSource, text: string, now: Date, lines: string[]): Op[] {
  const mk = obs.makefile;
  if (mk.kind === "file" && mk.text === text) return [];
  const ops: Op[] = [];
  // Not the admin's: upstream text we know of, or the Makefile as we last left it.
  const known = [up.text, deriveVariant(up.from, up.text, "local"), deriveVariant(up.from, up.text, "sympl"), obs.makefileSympl.text];
  const ours = mk.kind === "file" && (known.includes(mk.text ?? "") || sha256(mk.text ?? "") === obs.recorded?.makefile);
  if (mk.kind === "file" && !ours) ops.push(...saveCopy(obs, mk, now, lines));
  const why = obs.packaged?.text === text ? `the text dpkg recorded for it (${obs.packaged.pkg})` : "the packaged Makefile, reading sympl.d";
  ops.push({ op: "write", path: mk.path, data: Buffer.from(text), mode: up.perm, ...(obs.owner ?? {}), why });
  if (mk.kind === "link") lines.push(`${obs.app}: ${mk.path} is a plain file again (${why}); ${appPaths(obs.app).gnumakefile} selects the tree`);
  if (obs.packaged && !obs.packaged.text) {
    lines.push(`${obs.app}: no text on this server matches what dpkg recorded for ${mk.path} (${obs.packaged.pkg}); its next upgrade may prompt — run \`apt-get install --reinstall ${obs.packaged.pkg}\``);
  }
  return ops;
}

function upstreamOf(obs: Observation): UpstreamSource {
  const up = findUpstream(obs);
  if (!up) {
    const p = appPaths(obs.app);
    throw new EnvironmentError(problem(p.dir, "no Makefile to derive from", "reinstall the Sympl package that ships the Makefile"));
  }
  return up;
}

/**
 * Plans making `mode` live for `obs.app`: both variants derived from the
 * newest upstream text, `GNUmakefile` a relative link to `Makefile.MODE`
 * (swapped atomically, so make always finds a Makefile), `Makefile` the
 * plain packaged text dpkg recorded, the Makefile leftovers taken in, the
 * mode recorded. Empty when all of that is already so.
 */
export function planSwitch(obs: Observation, mode: Mode, now: Date): SwitchPlan {
  const det = detectProfile(obs);
  refuseFatal(det);
  const p = appPaths(obs.app);
  // Without the local tree there is nothing to switch between: the plain Makefile already reads sympl.d.
  if (obs.local !== "dir") {
    throw new InputError(problem(p.local, "missing", "run `makefilecheck install` to create the local tree first"));
  }
  const up = upstreamOf(obs);
  const owner = obs.owner ?? {};
  const desired = { local: deriveVariant(up.from, up.text, "local"), sympl: deriveVariant(up.from, up.text, "sympl") };
  const ops: Op[] = [];
  const lines: string[] = [];
  let liveChanged = false;

  for (const m of MODES) {
    const seen = m === "local" ? obs.makefileLocal : obs.makefileSympl;
    if (seen.kind === "file" && seen.text === desired[m]) continue;
    if (seen.kind === "file" && isEdited(obs, seen, m, up)) ops.push(...saveCopy(obs, seen, now, lines));
    ops.push({ op: "write", path: seen.path, data: Buffer.from(desired[m]), mode: up.perm, ...owner, why: `${m} variant of ${up.from}` });
    if (m === mode) liveChanged = true;
  }

  // The link first: from here on make reads GNUmakefile, so Makefile may stop being a link.
  const link = `Makefile.${mode}`;
  const gm = obs.gnumakefile;
  if (!(gm.kind === "link" && gm.target === link)) {
    if (gm.kind === "file") ops.push(...saveCopy(obs, gm, now, lines));
    ops.push({ op: "symlink", path: p.gnumakefile, target: link, ...owner, why: `build from ${snippetDir(obs.app, mode)}` });
    liveChanged ||= det.live !== mode || gm.kind !== "link";
  }
  const makefile = packagedText(obs, up);
  ops.push(...restorePackaged(obs, up, makefile, now, lines));
  ops.push(...consume(obs, up, now, lines));
  const record = recordOf(mode, { "Makefile.local": desired.local, "Makefile.sympl": desired.sympl }, makefile, now);
  const rec = obs.recorded;
  const upToDate =
    rec?.mode === mode &&
    rec.makefile === record.makefile &&
    rec.variants["Makefile.local"] === record.variants["Makefile.local"] &&
    rec.variants["Makefile.sympl"] === record.variants["Makefile.sympl"];
  if (!upToDate) ops.push(planRecord(obs.app, record));
  return { ops, lines, liveChanged };
}

/**
 * Plans going back to the plain packaged Makefile: `Makefile` the text dpkg
 * recorded (reading sympl.d), then `GNUmakefile` and both variants removed
 * (edited ones copied first), the leftovers taken in, the record
 * forgotten. sympl-local.d is left alone.
 */
export function planRevert(obs: Observation, now: Date): SwitchPlan {
  const det = detectProfile(obs);
  refuseFatal(det);
  const p = appPaths(obs.app);
  const present = [obs.makefileLocal, obs.makefileSympl].filter((s) => s.kind !== "missing");
  const ops: Op[] = [];
  const lines: string[] = [];
  const untouched = obs.gnumakefile.kind === "missing" && obs.leftovers.length === 0;
  if (obs.makefile.kind === "file" && present.length === 0 && !obs.recorded && untouched && det.live === "sympl") {
    return { ops, lines, liveChanged: false };
  }
  const up = upstreamOf(obs);
  // Makefile first: once it is the plain packaged file, GNUmakefile can go.
  const makefile = packagedText(obs, up);
  ops.push(...restorePackaged(obs, up, makefile, now, lines));
  const gm = obs.gnumakefile;
  if (gm.kind !== "missing") {
    if (gm.kind === "file") ops.push(...saveCopy(obs, gm, now, lines));
    ops.push({ op: "remove", path: gm.path, why: "make reads the packaged Makefile again" });
  }
  const liveChanged = ops.length > 0 || det.live !== "sympl";
  for (const seen of present) {
    const m: Mode = seen.path === p.makefileLocal ? "local" : "sympl";
    if (seen.kind === "file" && isEdited(obs, seen, m, up)) ops.push(...saveCopy(obs, seen, now, lines));
    ops.push({ op: "remove", path: seen.path, why: "revert to the plain upstream Makefile" });
  }
  ops.push(...consume(obs, up, now, lines));
  if (obs.recorded) ops.push(planForget(obs.app));
  return { ops, lines, liveChanged };
}
