/**
 * Snippet bytes as text: a UTF-8 check for diffs, drift and the
 * catalogue's edits.
 */
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
