/**
 * The three-way line merge of sync. It works on latin1 strings (one char
 * per byte), so every byte, a missing final newline included, comes out
 * exactly as it went in. Kept apart from text.ts so that only sync loads
 * node-diff3: drift and status never merge.
 */
import { diff3Merge } from "node-diff3";
import { asText } from "./text.js";

/** Splits into lines that keep their `\n`, so joining gives the input back. */
function lines(data: Buffer): string[] {
  return data.toString("latin1").match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/**
 * Merges the local and upstream edits of `base` line by line. Returns the
 * merged bytes, or null when both sides changed the same lines differently
 * (or a side is binary).
 */
export function mergeThreeWay(base: Buffer, local: Buffer, upstream: Buffer): Buffer | null {
  if ([base, local, upstream].some((d) => asText(d) === null)) return null;
  const regions = diff3Merge(lines(local), lines(base), lines(upstream), { excludeFalseConflicts: true });
  const out: string[] = [];
  for (const region of regions) {
    if (region.conflict) return null;
    out.push(...(region.ok ?? []));
  }
  return Buffer.from(out.join(""), "latin1");
}
