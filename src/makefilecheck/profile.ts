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
import type { ServerPath } from "../paths.js";

/** The profiles of the table, as `report` prints them. */
export type Profile = "vanilla" | "caninstall" | "sympl" | "local" | "unclear" | "fatal";

/** The three ways an upgrade (or a script) damages the setup. */
export type DamageKind = "dpkg-dist" | "overwritten" | "plain-file";

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
  /** `.dpkg-dist` files this text is taken from, to be renamed once applied. */
  consumes: ServerPath[];
}

/** Parses a plain file's Makefile text; throws InputError when its shape is unexpected. */
function readingOf(seen: Seen): Reading | null {
  return seen.kind === "file" ? readMakefile(seen.path, seen.text ?? "") : null;
}

/** Which variant file (if any) a Makefile link points at. */
function linkedVariant(obs: Observation): Mode | null {
  if (obs.makefile.kind !== "link") return null;
  const p = appPaths(obs.app);
  const to = obs.makefile.to;
  return to === p.makefileLocal ? "local" : to === p.makefileSympl ? "sympl" : null;
}

/** The `.dpkg-dist` Makefiles waiting to be applied. */
function pendingDists(obs: Observation): Seen[] {
  return obs.leftovers.filter((s) => s.kind === "file" && s.path.endsWith(".dpkg-dist"));
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
  if (obs.makefile.kind === "link") {
    const to = obs.makefile.to!;
    if (!isInside(p.dir, to)) {
      return fatal(3, problem(p.makefile, `symlink to ${to}, outside ${p.dir}`, `point it at Makefile.local or Makefile.sympl in ${p.dir}, or replace it with the upstream Makefile`));
    }
  } else if (obs.makefile.kind !== "file" && obs.makefile.kind !== "missing") {
    return fatal(3, problem(p.makefile, `is a ${obs.makefile.kind}, not a Makefile`, "move it aside and reinstall the Sympl package"));
  }

  let readings: { mk: Reading | null; ml: Reading | null; ms: Reading | null; target: Reading | null };
  try {
    for (const d of pendingDists(obs)) readingOf(d);
    readings = {
      mk: readingOf(obs.makefile),
      ml: readingOf(obs.makefileLocal),
      ms: readingOf(obs.makefileSympl),
      target: obs.linkTarget ? readingOf(obs.linkTarget) : null,
    };
  } catch (err) {
    if (err instanceof InputError) return fatal(2, err.message);
    throw err;
  }

  const linked = linkedVariant(obs);
  const liveReading = obs.makefile.kind === "file" ? readings.mk : linked === "local" ? readings.ml : linked === "sympl" ? readings.ms : readings.target;
  const live = liveReading ? modeOfReading(liveReading) : null;
  const managed = recorded !== null || obs.makefile.kind === "link" || obs.makefileLocal.kind !== "missing" || obs.makefileSympl.kind !== "missing";

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
  const inferred = linked ?? (obs.makefile.kind === "file" && live === "local" ? "local" : null);
  const mode = recorded ?? inferred;
  const legacy = obs.makefile.kind === "link" && obs.makefile.target!.startsWith("/") && recorded === null;
  const fits =
    linked !== null &&
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

/** The first of the three damages present, if any. */
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
  if (obs.makefile.kind === "file") {
    return { kind: "plain-file", path: p.makefile, detail: `${p.makefile} is a plain file again, not a link to a variant` };
  }
  const dist = pendingDists(obs)[0];
  if (dist) return { kind: "dpkg-dist", path: dist.path, detail: `a new upstream Makefile waits in ${dist.path} (the upgrade kept the old one)` };
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
    if (v.linked === null) return `${p.makefile} links to ${obs.makefile.target}, not to Makefile.local or Makefile.sympl`;
    if (obs.local !== "dir") return `${p.local} is missing but the Makefile links to Makefile.${v.linked}`;
    return misshapenVariant(obs);
  }
  if (v.recorded && v.recorded !== v.linked) return `the Makefile links to Makefile.${v.linked} but ${v.recorded} was chosen`;
  if (v.legacy) return `${p.makefile} is the old tooling's absolute link; repair adopts it (relative link, recorded mode)`;
  if (v.recorded === null) return `the chosen mode is not recorded yet; repair records ${v.mode}`;
  return null;
}

/** The exit code for several apps: the worst of theirs. */
export function worstCode(codes: ExitCode[]): ExitCode {
  return codes.reduce<ExitCode>((a, b) => (b > a ? b : a), 0);
}

/**
 * The newest upstream Makefile text the setup holds: a waiting `.dpkg-dist`,
 * a variant overwritten with upstream text, a plain Makefile, else the
 * variants themselves (deriving from a variant gives the same variants).
 * Null when there is none. Several `.dpkg-dist` files that disagree are
 * refused rather than picked from.
 */
export function findUpstream(obs: Observation): UpstreamSource | null {
  const dists = pendingDists(obs);
  if (dists.length) {
    const texts = new Set(dists.map((d) => d.text));
    if (texts.size > 1) {
      throw new InputError(
        problem(dists[0]!.path, `disagrees with ${dists.slice(1).map((d) => d.path).join(", ")}`, "remove the new upstream Makefiles you do not want applied, then run this again"),
      );
    }
    return { text: dists[0]!.text!, from: dists[0]!.path, perm: dists[0]!.perm!, consumes: dists.map((d) => d.path) };
  }
  const ml = obs.makefileLocal;
  const overwritten = ml.kind === "file" && modeOfReading(readMakefile(ml.path, ml.text!)) === "sympl";
  const order = overwritten ? [ml, obs.makefile, obs.makefileSympl] : [obs.makefile, obs.makefileSympl, ml];
  const found = order.find((s) => s.kind === "file");
  if (!found) return null;
  return { text: found.text!, from: found.path, perm: found.perm!, consumes: [] };
}
