/**
 * Filling a snippet's `@@NAME@@` placeholders with checked settings, and
 * recognising a file we wrote with other values (an earlier run with other
 * settings): such a file is still ours to update or remove.
 */
import type { App } from "../server-layout.js";
import { CATALOGUE, changeFiles } from "./catalogue.js";
import type { ChangeId } from "./catalogue.js";
import { escapeRegExp, logSelectorFor } from "./edits.js";
import { OLD_SPAMHAUS_KEY_SNIPPETS, SNIPPETS, SPAMHAUS_KEY_FILE_TEXT } from "./snippets.js";

/** Placeholder values; undefined where the setting is not set. */
export type Values = Record<string, string | undefined>;

const PLACEHOLDER = /@@([A-Z0-9_]+)@@/g;

/**
 * What may reach an exim or dovecot file from a setting: ports, names,
 * `:`-lists, log flags and keys. The settings parser checks each value more strictly;
 * this is the last line of defence in front of the config.
 */
const SAFE_VALUE = /^[A-Za-z0-9 :./_+-]*$/;

/** `template` with every placeholder filled; throws on an unknown or unsafe value (a bug, not input). */
function fillTemplate(template: string, values: Values): string {
  return template.replace(PLACEHOLDER, (_all, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`internal error: no value for @@${name}@@`);
    if (!SAFE_VALUE.test(value)) throw new Error(`internal error: unsafe value for @@${name}@@`);
    return value;
  });
}

/** A pattern matching `template` filled with any one-line values. */
function templatePattern(template: string): RegExp {
  const body = template
    .split(PLACEHOLDER)
    .map((piece, j) => (j % 2 === 1 ? "[^\\n]*" : escapeRegExp(piece)))
    .join("");
  return new RegExp(`^${body}$`);
}

/** True when `text` is `template` filled with some values: a file we wrote. */
function matchesTemplate(template: string, text: string): boolean {
  return templatePattern(template).test(text);
}

/** ch10's snippet that includes the key file; earlier releases put the key itself there. */
export const SPAMHAUS_SNIPPET = "00-main/35-spamhaus-key";

function templateOf(rel: string): string {
  const snippet = SNIPPETS[rel];
  if (!snippet) throw new Error(`internal error: no snippet text for ${rel}`);
  return snippet.text;
}

/** The text install writes at `rel` (relative to sympl-local.d) for these values. */
export function snippetText(rel: string, values: Values): string {
  return fillTemplate(templateOf(rel), values);
}

/** True when `text` is what install writes (or an earlier release wrote) at `rel` for some values: ours to update or remove. */
export function isOurText(rel: string, text: string): boolean {
  if (matchesTemplate(templateOf(rel), text)) return true;
  return rel === SPAMHAUS_SNIPPET && (inlineKeyOf(text) !== null || text === OLD_SPAMHAUS_KEY_SNIPPETS.none);
}

/** The key `text` holds when it is `template` filled with a key of letters and digits, else null. */
function keyIn(template: string, text: string): string | null {
  const [before, after] = template.split("@@SPAMHAUS_DQ_KEY@@");
  return new RegExp(`^${escapeRegExp(before ?? "")}([A-Za-z0-9]+)${escapeRegExp(after ?? "")}$`).exec(text)?.[1] ?? null;
}

/** The key an earlier release's 35-spamhaus-key holds inline, or null (no key, or not that text). */
export function inlineKeyOf(text: string): string | null {
  return keyIn(OLD_SPAMHAUS_KEY_SNIPPETS.keyed, text);
}

/** The key file's text for `key` (checked by the settings parser: letters and digits). */
export function keyFileText(key: string): string {
  return fillTemplate(SPAMHAUS_KEY_FILE_TEXT, { SPAMHAUS_DQ_KEY: key });
}

/** True when `text` is a key file install wrote, for any key: ours to replace or remove. */
export function isOurKeyFile(text: string): boolean {
  return keyIn(SPAMHAUS_KEY_FILE_TEXT, text) !== null;
}

/**
 * The changes with in-place edits whose every file `localText` has as we
 * write it: installed, so their edits hold on any new upstream text.
 */
export function installedWithEdits(app: App, localText: (rel: string) => string | null): Set<ChangeId> {
  const installed = CATALOGUE.filter((c) => c.app === app && c.edits.length > 0 && changeFiles(c.id).length > 0).filter((c) =>
    changeFiles(c.id).every((rel) => {
      const text = localText(rel);
      return text !== null && isOurText(rel, text);
    }),
  );
  return new Set(installed.map((c) => c.id));
}

/** ch3's file, which holds the one log_selector. */
export const LOGGING_FILE = "00-main/25-logging";

/** The flags of the log_selector line in a text we wrote. */
function flagsIn(text: string): string[] {
  return (/^log_selector = (.*)$/m.exec(text)?.[1] ?? "").split(" ").filter(Boolean);
}

/**
 * ch3's file re-derived for upstream's log_selector flags as they are now
 * (`upstreamMain`: the texts of upstream's main-options files): null when
 * `local` is not ours or already current; else the new text and, in
 * words, which flags came and went.
 */
export function rederiveLogging(local: string | null, upstreamMain: string[]): { text: string; note: string } | null {
  if (local === null || !isOurText(LOGGING_FILE, local)) return null;
  const log = logSelectorFor(upstreamMain);
  const text = snippetText(LOGGING_FILE, { LOG_SELECTOR: log.value });
  if (text === local) return null;
  const before = flagsIn(local);
  const after = log.value.split(" ");
  const said = [
    ...(after.some((f) => !before.includes(f)) ? [`log_selector now carries upstream's ${after.filter((f) => !before.includes(f)).join(" ")}`] : []),
    ...(before.some((f) => !after.includes(f)) ? [`no longer ${before.filter((f) => !after.includes(f)).join(" ")}`] : []),
  ];
  return { text, note: said.join("; ") || "log_selector re-derived from upstream's" };
}
