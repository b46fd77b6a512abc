/**
 * The three-way decision of docs/sympl.md (sync) as one pure function over what
 * is known of a snippet path in the baseline (B), upstream sympl.d (U) and
 * sympl-local.d (L). Contents are compared by sha256 only.
 */

/** Every state a snippet path can be in. */
export const STATES = [
  "clean",
  "upstream-modified",
  "upstream-added",
  "upstream-deleted",
  "local-modified",
  "local-added",
  "local-deleted",
  "converged",
  "conflict",
  "linked",
  "diverged",
] as const;
export type State = (typeof STATES)[number];

/** States where upstream has something the local tree lacks, or the admin must decide. */
export const ACTION_STATES: ReadonlySet<State> = new Set<State>([
  "upstream-modified",
  "upstream-added",
  "upstream-deleted",
  "conflict",
  "diverged",
]);

/** What the local tree has at a path: content, or a link mirroring the upstream file. */
export type LocalFact = { sha256: string } | { linked: true };

/**
 * For trees adopted without a baseline: whether the change catalogue
 * explains L as U plus known edits (`same`: L is exactly that;
 * `rederive`: the edits re-applied to U give something newer than L).
 */
export type KnownEdit = "none" | "same" | "rederive";

/** Everything the decision looks at for one path. */
export interface ClassifyInput {
  /** Whether a baseline exists at all (false: the tree is being adopted). */
  hasBase: boolean;
  base?: string;
  up?: string;
  local?: LocalFact;
  /** Left diverged by an earlier adoption and not yet settled by the admin. */
  unsettled?: boolean;
  /** Only consulted without a baseline. */
  knownEdit?: KnownEdit;
}

/** Decides the state of one path. */
export function classify(input: ClassifyInput): State {
  const { base, up, local } = input;
  if (local && "linked" in local) return up === undefined ? "upstream-deleted" : "linked";
  const mine = local?.sha256;
  if (input.unsettled) return mine === up ? "converged" : "diverged";
  if (!input.hasBase) return withoutBase(up, mine, input.knownEdit ?? "none");
  const upChanged = up !== base;
  const localChanged = mine !== base;
  if (!upChanged) {
    if (!localChanged) return "clean";
    if (mine === undefined) return "local-deleted";
    return base === undefined ? "local-added" : "local-modified";
  }
  if (!localChanged) {
    if (up === undefined) return "upstream-deleted";
    return base === undefined ? "upstream-added" : "upstream-modified";
  }
  return mine === up ? "converged" : "conflict";
}

/**
 * Adoption rules: identical is clean, local-only is a local addition, a
 * difference the catalogue explains is a local edit; anything else,
 * including an upstream file the local tree lacks, waits for the admin.
 */
function withoutBase(up: string | undefined, mine: string | undefined, knownEdit: KnownEdit): State {
  if (mine === up) return "clean";
  if (up === undefined) return "local-added";
  if (mine !== undefined && knownEdit === "same") return "local-modified";
  if (mine !== undefined && knownEdit === "rederive") return "upstream-modified";
  return "diverged";
}
