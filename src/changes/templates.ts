/**
 * Filling a snippet's `@@NAME@@` placeholders with checked settings, and
 * recognising a file we wrote with other values (an earlier run with other
 * settings): such a file is still ours to update or remove.
 */

/** Placeholder values; undefined leaves an optional placeholder's lines out. */
export type Values = Record<string, string | undefined>;

/** Placeholders whose lines are left out when no value is set. */
const OPTIONAL = new Set(["SPAMHAUS_DQ_KEY"]);

const PLACEHOLDER = /@@([A-Z0-9_]+)@@/g;

/**
 * What may reach an exim or dovecot file from a setting: ports, names,
 * `:`-lists and keys. The settings parser checks each value more strictly;
 * this is the last line of defence in front of the config.
 */
const SAFE_VALUE = /^[A-Za-z0-9 :./_-]*$/;

/** `template` with every placeholder filled; throws on an unknown or unsafe value (a bug, not input). */
export function fillTemplate(template: string, values: Values): string {
  const lines = template.split("\n").filter((line) => {
    const names = [...line.matchAll(PLACEHOLDER)].map((m) => m[1] ?? "");
    return !names.some((n) => OPTIONAL.has(n) && values[n] === undefined);
  });
  return lines
    .join("\n")
    .replace(PLACEHOLDER, (_all, name: string) => {
      const value = values[name];
      if (value === undefined) throw new Error(`internal error: no value for @@${name}@@`);
      if (!SAFE_VALUE.test(value)) throw new Error(`internal error: unsafe value for @@${name}@@`);
      return value;
    });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A pattern matching `template` filled with any one-line values, optional lines present or not. */
function templatePattern(template: string): RegExp {
  const lines = template.split("\n");
  const parts = lines.map((line, i) => {
    const nl = i < lines.length - 1 ? "\n" : "";
    const body = line
      .split(PLACEHOLDER)
      .map((piece, j) => (j % 2 === 1 ? "[^\\n]*" : escapeRegExp(piece)))
      .join("");
    const optional = [...line.matchAll(PLACEHOLDER)].some((m) => OPTIONAL.has(m[1] ?? ""));
    return optional ? `(?:${body}${escapeRegExp(nl)})?` : `${body}${escapeRegExp(nl)}`;
  });
  return new RegExp(`^${parts.join("")}$`);
}

/** True when `text` is `template` filled with some values: a file we wrote. */
export function matchesTemplate(template: string, text: string): boolean {
  return templatePattern(template).test(text);
}
