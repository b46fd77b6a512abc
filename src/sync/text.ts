/**
 * Snippet bytes as text: a UTF-8 check for diffs and the catalogue's edits,
 * and the three-way line merge. The merge works on latin1 strings (one
 * char per byte), so every byte, a missing final newline included, comes
 * out exactly as it went in.
 */
import { diff3Merge } from "node-diff3";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The text of a snippet, or null when it holds a NUL or is not UTF-8 (a "binary" file). */
export function asText(data: Buffer): string | null {
  if (data.includes(0)) return null;
  try {
    return strictUtf8.decode(data);
  } catch {
    return null;
  }
}

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
