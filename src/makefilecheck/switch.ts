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
import { deriveVariant } from "./makefile.js";
import type { Observation, Seen } from "./observe.js";
import type { Detection, UpstreamSource } from "./profile.js";
import { detectProfile, findUpstream } from "./profile.js";
import { savedRoot } from "../saved.js";
import { planForget, planRecord, stamp } from "./state.js";
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

/** Steps renaming consumed `.dpkg-dist` files so they are never applied twice. */
function consume(obs: Observation, up: UpstreamSource, now: Date, lines: string[]): Op[] {
  return up.consumes.map((from) => {
    const to = serverPath(`${from}.applied-${stamp(now)}`);
    lines.push(`${obs.app}: applied the new upstream Makefile ${from} (kept as ${to})`);
    return { op: "rename", from, to, why: "applied; renamed so it is not applied twice" };
  });
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
 * newest upstream text, `Makefile` a relative link to `Makefile.MODE`
 * (swapped atomically, so it is never missing), consumed `.dpkg-dist` files
 * renamed, the mode recorded. Empty when all of that is already so.
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

  const link = `Makefile.${mode}`;
  const mk = obs.makefile;
  if (!(mk.kind === "link" && mk.target === link)) {
    const known = [up.text, desired.local, desired.sympl];
    if (mk.kind === "file" && !known.includes(mk.text ?? "")) ops.push(...saveCopy(obs, mk, now, lines));
    ops.push({ op: "symlink", path: p.makefile, target: link, ...owner, why: `build from ${snippetDir(obs.app, mode)}` });
    liveChanged ||= det.live !== mode || mk.kind !== "link";
  }

  ops.push(...consume(obs, up, now, lines));
  const rec = obs.recorded;
  const hashes = { "Makefile.local": sha256(desired.local), "Makefile.sympl": sha256(desired.sympl) };
  const upToDate = rec?.mode === mode && rec.variants["Makefile.local"] === hashes["Makefile.local"] && rec.variants["Makefile.sympl"] === hashes["Makefile.sympl"];
  if (!upToDate) ops.push(planRecord(obs.app, mode, { "Makefile.local": desired.local, "Makefile.sympl": desired.sympl }, now));
  return { ops, lines, liveChanged };
}

/**
 * Plans going back to a plain upstream Makefile: the Makefile written with
 * the newest upstream text (reading sympl.d), both variants removed (edited
 * ones copied first), the record forgotten. sympl-local.d is left alone.
 */
export function planRevert(obs: Observation, now: Date): SwitchPlan {
  const det = detectProfile(obs);
  refuseFatal(det);
  const p = appPaths(obs.app);
  const present = [obs.makefileLocal, obs.makefileSympl].filter((s) => s.kind !== "missing");
  const ops: Op[] = [];
  const lines: string[] = [];
  if (obs.makefile.kind === "file" && present.length === 0 && !obs.recorded && det.live === "sympl") {
    return { ops, lines, liveChanged: false };
  }
  const up = upstreamOf(obs);
  const plain = deriveVariant(up.from, up.text, "sympl");
  const mk = obs.makefile;
  const liveChanged = !(mk.kind === "file" && mk.text === plain);
  if (liveChanged) {
    if (mk.kind === "file" && mk.text !== up.text && isEdited(obs, mk, "sympl", up)) ops.push(...saveCopy(obs, mk, now, lines));
    ops.push({ op: "write", path: p.makefile, data: Buffer.from(plain), mode: up.perm, ...(obs.owner ?? {}), why: `upstream Makefile from ${up.from}` });
  }
  for (const seen of present) {
    const m: Mode = seen.path === p.makefileLocal ? "local" : "sympl";
    if (seen.kind === "file" && isEdited(obs, seen, m, up)) ops.push(...saveCopy(obs, seen, now, lines));
    ops.push({ op: "remove", path: seen.path, why: "revert to the plain upstream Makefile" });
  }
  ops.push(...consume(obs, up, now, lines));
  if (obs.recorded) ops.push(planForget(obs.app));
  return { ops, lines, liveChanged };
}
