/**
 * Profile detection (the table in docs/sympl.md) as a pure function over an
 * Observation, plus the damage an upgrade or a script left, and where the
 * newest upstream Makefile text is to be found. No disk access here.
 */
import { InputError, problem } from "../errors.js";
import type { ExitCode } from "../errors.js";
import type { App, Mode } from "../server-layout.js";
import { appPaths } from "../server-layout.js";
import { isInside } from "../system/safe-path.js";
import type { Reading } from "./makefile.js";
import { modeOfReading, readMakefile } from "./makefile.js";
import type { Observation, Seen } from "./observe.js";
import { selectorOf } from "./observe.js";
import { md5, sha256 } from "../hash.js";
import type { ServerPath } from "../paths.js";

/** The profiles of the table, as `report` prints them. */
export type Profile = "vanilla" | "caninstall" | "sympl" | "local" | "unclear" | "fatal";

/**
 * The ways an upgrade (or a script, or an earlier layout) leaves the setup:
 * a Makefile leftover of dpkg or ucf waiting, a variant overwritten with
 * upstream text, a plain file where our link belongs, `Makefile` still the
 * link of an earlier layout, a packaged Makefile newer than the variants.
 */
export type DamageKind = "leftover" | "overwritten" | "plain-file" | "makefile-link" | "new-upstream";

/** A damage found, with the path it concerns and one line saying what happened. */
export interface Damage {
  kind: DamageKind;
  path: ServerPath;
  detail: string;
}

/** The verdict on one app. */
export interface Detection {
  app: App;
  profile: Profile;
  /** The tree the live Makefile builds from, when it has one of the two variant shapes. */
  live: Mode | null;
  recorded: Mode | null;
  /** The mode repair restores: the recorded one, else the one the Makefile link shows. */
  mode: Mode | null;
  damage: Damage | null;
  /** A Makefile link made by the old tooling (absolute), with no recorded mode. */
  legacy: boolean;
  /** Whether `repair` has something to put right. */
  repairNeeded: boolean;
  /** Why the profile is fatal or unclear, or what else is off; null when all is well. */
  problem: string | null;
  /** 0 fine, 1 repair needed or unclear, 2 a file of unexpected shape, 3 unusable. */
  code: ExitCode;
}

/** The newest upstream Makefile text the setup holds, and where it came from. */
export interface UpstreamSource {
  text: string;
  from: ServerPath;
  perm: number;
  /** The Makefile leftovers to take in: saved, then removed, once applied. */
  consumes: Seen[];
}

/** Parses a plain file's Makefile text; throws InputError when its shape is unexpected. */
function readingOf(seen: Seen): Reading | null {
  return seen.kind === "file" ? readMakefile(seen.path, seen.text ?? "") : null;
}

/** Which variant file (if any) the selecting link (GNUmakefile, else an earlier layout's Makefile link) points at. */
function linkedVariant(obs: Observation): Mode | null {
  const sel = selectorOf(obs);
  if (sel.kind !== "link") return null;
  const p = appPaths(obs.app);
  return sel.to === p.makefileLocal ? "local" : sel.to === p.makefileSympl ? "sympl" : null;
}

/** Leftovers holding a newer upstream text than the file beside them (`.dpkg-old` and `.ucf-old` hold an older one). */
function newerLeftovers(obs: Observation): Seen[] {
  return obs.leftovers.filter((s) => s.kind === "file" && /\.(dpkg-(new|dist)|ucf-(dist|new))$/.test(s.path));
}

/**
 * True when something of a Sympl setup is there besides sympl.d (a
 * Makefile, the local tree, a variant, a recorded mode): then a missing
 * sympl.d is a damaged install, not a server without Sympl.
 */
function symplTraces(obs: Observation): boolean {
  return obs.recorded !== null || obs.local !== "missing" || [obs.makefile, obs.makefileLocal, obs.makefileSympl].some((s) => s.kind !== "missing");
}

/** Detects `obs`'s profile, damage and the mode to restore. Pure. */
export function detectProfile(obs: Observation): Detection {
  const p = appPaths(obs.app);
  const recorded = obs.recorded?.mode ?? null;
  const base = { app: obs.app, live: null, recorded, mode: recorded, damage: null, legacy: false };
  const fatal = (code: ExitCode, why: string): Detection => ({ ...base, profile: "fatal", repairNeeded: false, problem: why, code });

  if (obs.appDir !== "dir") return fatal(3, problem(p.dir, obs.appDir === "missing" ? "missing" : `is a ${obs.appDir}, not a directory`, `is ${obs.app} with Sympl installed?`));
  if (obs.upstream === "missing" && !symplTraces(obs)) {
    return fatal(3, problem(undefined, `no Sympl tree here (${p.upstream} missing)`, `makefilecheck keeps Sympl's snippet trees: install Sympl first, or give --root DIR for a copy of a Sympl server's files`));
  }
  if (obs.upstream !== "dir") return fatal(3, problem(p.upstream, obs.upstream === "missing" ? "missing" : `is a ${obs.upstream}, not a directory`, "reinstall the Sympl package that ships it"));
  if (obs.local !== "missing" && obs.local !== "dir") {
    return fatal(3, problem(p.local, `is a ${obs.local}, not a directory`, "move it aside; `makefilecheck install` creates the local tree"));
  }
  for (const v of [obs.makefileLocal, obs.makefileSympl]) {
    if (v.kind === "dir" || v.kind === "other") return fatal(3, problem(v.path, `is a ${v.kind}, not a Makefile`, "move it aside"));
  }
  for (const m of [obs.makefile, obs.gnumakefile]) {
    if (m.kind === "link" && !isInside(p.dir, m.to!)) {
      return fatal(3, problem(m.path, `symlink to ${m.to}, outside ${p.dir}`, `point it at Makefile.local or Makefile.sympl in ${p.dir}, or remove it`));
    }
    if (m.kind === "dir" || m.kind === "other") return fatal(3, problem(m.path, `is a ${m.kind}, not a Makefile`, "move it aside and reinstall the Sympl package"));
  }

  let readings: { mk: Reading | null; gm: Reading | null; ml: Reading | null; ms: Reading | null; target: Reading | null };
  try {
    for (const d of newerLeftovers(obs)) readingOf(d);
    readings = {
      mk: readingOf(obs.makefile),
      gm: readingOf(obs.gnumakefile),
      ml: readingOf(obs.makefileLocal),
      ms: readingOf(obs.makefileSympl),
      target: obs.linkTarget ? readingOf(obs.linkTarget) : null,
    };
  } catch (err) {
    if (err instanceof InputError) return fatal(2, err.message);
    throw err;
  }

  const linked = linkedVariant(obs);
  const sel = selectorOf(obs);
  const liveReading = sel.kind === "file" ? readingOf(sel) : linked === "local" ? readings.ml : linked === "sympl" ? readings.ms : readings.target;
  const live = liveReading ? modeOfReading(liveReading) : null;
  const managed =
    recorded !== null ||
    obs.gnumakefile.kind !== "missing" ||
    obs.makefile.kind === "link" ||
    obs.makefileLocal.kind !== "missing" ||
    obs.makefileSympl.kind !== "missing";

  if (!managed) {
    if (obs.makefile.kind === "missing") return fatal(3, problem(p.makefile, "missing", "reinstall the Sympl package that ships it"));
    if (live === "sympl") {
      return { ...base, live, profile: obs.local === "dir" ? "caninstall" : "vanilla", repairNeeded: false, problem: null, code: 0 };
    }
    const r = readings.mk!;
    const damage: Damage | null =
      live === "local" ? { kind: "plain-file", path: p.makefile, detail: `${p.makefile} is a plain file reading sympl-local.d instead of a link to Makefile.local` } : null;
    return {
      ...base,
      live,
      mode: live,
      damage,
      profile: "unclear",
      repairNeeded: live !== null,
      problem: live ? damage!.detail : problem(p.makefile, `reads ${r.dir} with -type ${r.type}, neither variant's shape`, "restore the upstream Makefile"),
      code: 1,
    };
  }

  const damage = findDamage(obs, linked, readings.ml);
  const inferred = linked ?? (sel.kind === "file" && live === "local" ? "local" : null);
  const mode = recorded ?? inferred;
  const legacy = obs.makefile.kind === "link" && obs.makefile.target!.startsWith("/") && recorded === null;
  const fits =
    linked !== null &&
    obs.gnumakefile.kind === "link" &&
    readings.mk !== null &&
    modeOfReading(readings.mk) === "sympl" &&
    obs.local === "dir" &&
    readings.ml !== null &&
    modeOfReading(readings.ml) === "local" &&
    readings.ms !== null &&
    modeOfReading(readings.ms) === "sympl";
  const profile: Profile = fits ? linked : "unclear";
  const why = explain(obs, { profile, damage, linked, recorded, mode, legacy, live });
  const repairNeeded = mode !== null && why !== null;
  return { ...base, live, mode, damage, legacy, profile, repairNeeded, problem: why, code: why === null ? 0 : 1 };
}

/** The first damage present, if any. */
function findDamage(obs: Observation, linked: Mode | null, ml: Reading | null): Damage | null {
  const p = appPaths(obs.app);
  if (linked === "local" && ml && modeOfReading(ml) === "sympl") {
    const old = obs.leftovers.find((s) => s.path === `${p.makefileLocal}.dpkg-old`);
    return {
      kind: "overwritten",
      path: p.makefileLocal,
      detail: `${p.makefileLocal} was overwritten with the upstream Makefile (reads sympl.d), so the local tree is off${old ? `; the previous one is ${old.path}` : ""}`,
    };
  }
  if (obs.makefile.kind === "link") {
    return { kind: "makefile-link", path: p.makefile, detail: `${p.makefile} is a link (an earlier layout), which dpkg never updates and unattended-upgrades holds back; repair makes it the packaged file again and selects the tree with ${p.gnumakefile}` };
  }
  const fresh = newerLeftovers(obs)[0];
  if (fresh) return { kind: "leftover", path: fresh.path, detail: `a new upstream Makefile waits in ${fresh.path}, not taken in` };
  const left = obs.leftovers[0];
  if (left) return { kind: "leftover", path: left.path, detail: `${left.path} was left by a package upgrade` };
  if (obs.gnumakefile.kind === "file") return { kind: "plain-file", path: p.gnumakefile, detail: `${p.gnumakefile} is a plain file, not a link to a variant` };
  const mk = obs.makefile;
  if (mk.kind === "file" && modeOfReading(readMakefile(mk.path, mk.text ?? "")) !== "sympl") {
    return { kind: "plain-file", path: p.makefile, detail: `${p.makefile} is not the packaged Makefile (it does not read sympl.d with -type f)` };
  }
  if (obs.gnumakefile.kind === "missing") {
    return { kind: "plain-file", path: p.gnumakefile, detail: `${p.gnumakefile} is missing, so make reads the packaged ${p.makefile} (sympl.d)` };
  }
  if (mk.kind === "file" && obs.recorded?.makefile !== undefined && sha256(mk.text ?? "") !== obs.recorded.makefile) {
    return { kind: "new-upstream", path: p.makefile, detail: `${p.makefile} changed since the variants were derived from it (a Sympl upgrade, or an edit)` };
  }
  return null;
}

/** Names the first variant that is missing, not a file, or not of its mode's shape. */
function misshapenVariant(obs: Observation): string {
  for (const [mode, seen] of [["local", obs.makefileLocal], ["sympl", obs.makefileSympl]] as const) {
    if (seen.kind !== "file") return `${seen.path} is ${seen.kind === "missing" ? "missing" : `a ${seen.kind}, not a file`}`;
    const r = readMakefile(seen.path, seen.text ?? "");
    if (modeOfReading(r) !== mode) return `${seen.path} reads ${r.dir} with -type ${r.type}, not its variant's tree`;
  }
  return "the Makefile variants do not fit together";
}

interface Classified {
  profile: Profile;
  damage: Damage | null;
  linked: Mode | null;
  recorded: Mode | null;
  mode: Mode | null;
  legacy: boolean;
  live: Mode | null;
}

/** One line on what is off in a managed setup, or null when it is as recorded. */
function explain(obs: Observation, v: Classified): string | null {
  const p = appPaths(obs.app);
  if (v.damage) return v.damage.detail;
  if (v.profile === "unclear") {
    if (obs.makefile.kind === "missing") return `${p.makefile} is missing`;
    const sel = selectorOf(obs);
    if (v.linked === null) return `${sel.path} links to ${sel.target}, not to Makefile.local or Makefile.sympl`;
    if (obs.local !== "dir") return `${p.local} is missing but the Makefile links to Makefile.${v.linked}`;
    return misshapenVariant(obs);
  }
  if (v.recorded && v.recorded !== v.linked) return `${appPaths(obs.app).gnumakefile} links to Makefile.${v.linked} but ${v.recorded} was chosen`;
  if (v.legacy) return `${p.makefile} is the old tooling's absolute link; repair adopts it (relative link, recorded mode)`;
  if (v.recorded === null) return `the chosen mode is not recorded yet; repair records ${v.mode}`;
  return null;
}

/** The exit code for several apps: the worst of theirs. */
export function worstCode(codes: ExitCode[]): ExitCode {
  return codes.reduce<ExitCode>((a, b) => (b > a ? b : a), 0);
}

/**
 * The newest upstream Makefile text the setup holds: a waiting leftover
 * newer than its file (`.dpkg-new`, `.dpkg-dist`, `.ucf-dist`), a variant
 * overwritten with upstream text, the packaged Makefile when it changed
 * since we last derived from it (or we never did), else the sympl variant
 * (derived from the text we last took in, which may be newer than the
 * Makefile: a `.dpkg-new` beside an earlier layout's link). Null when there
 * is none. Newer leftovers that disagree are refused rather than picked from.
 */
export function findUpstream(obs: Observation): UpstreamSource | null {
  const fresh = newerLeftovers(obs);
  const consumes = obs.leftovers.filter((s) => s.kind === "file");
  if (fresh.length) {
    const texts = new Set(fresh.map((d) => d.text));
    if (texts.size > 1) {
      throw new InputError(
        problem(fresh[0]!.path, `disagrees with ${fresh.slice(1).map((d) => d.path).join(", ")}`, "remove the new upstream Makefiles you do not want applied, then run this again"),
      );
    }
    return { text: fresh[0]!.text!, from: fresh[0]!.path, perm: fresh[0]!.perm!, consumes };
  }
  const { makefile: mk, makefileLocal: ml, makefileSympl: ms } = obs;
  const overwritten = ml.kind === "file" && modeOfReading(readMakefile(ml.path, ml.text!)) === "sympl";
  // A changed Makefile is upstream's only when dpkg put it there: with dpkg's record at hand, its md5 must match.
  const packagedByDpkg = !obs.packaged || md5(mk.text ?? "") === obs.packaged.md5;
  const mkChanged = mk.kind === "file" && packagedByDpkg && (obs.recorded?.makefile === undefined || sha256(mk.text ?? "") !== obs.recorded.makefile);
  const order = overwritten ? [ml, mk, ms] : mkChanged ? [mk, ms, ml] : [ms, mk, ml];
  const found = [...order, ...(obs.linkTarget ? [obs.linkTarget] : [])].find((s) => s.kind === "file");
  if (!found) return null;
  return { text: found.text!, from: found.path, perm: found.perm!, consumes };
}
