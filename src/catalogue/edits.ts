/**
 * The in-place edits the changes make to upstream's exim main options
 * (ch3, ch4, ch11), declared by what they mean rather than as one literal
 * line, so they hold on every upstream release: applied, undone, judged
 * and re-derived on a newer upstream file. Everything here is a pure
 * function of text. exim has no trailing comments (a `#` after a value is
 * part of it) and a line ending in `\` continues on the next one.
 */
import type { App } from "../server-layout.js";
import { CATALOGUE, MAIN_OPTIONS_DIR, OUR_LOG_FLAGS } from "./catalogue.js";
import type { ChangeId, OptionEdit } from "./catalogue.js";
import { SNIPPETS } from "./snippets.js";

/** Where an edit stands in one file pair: `upstream` means upstream gives nothing to edit (or already does it). */
export type EditPartState = "ours" | "absent" | "modified" | "upstream";

/** `text` as a regular expression matching exactly itself. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** True when `rel` is one of upstream's main-options files, the only files these edits touch. */
export function isMainOptionsFile(rel: string): boolean {
  return rel.startsWith(`${MAIN_OPTIONS_DIR}/`) && SNIPPETS[rel] === undefined;
}

/** Every line edit the catalogue makes to `path` of `app`. */
export function editsFor(app: App, path: string): OptionEdit[] {
  if (!isMainOptionsFile(path)) return [];
  return CATALOGUE.filter((c) => c.app === app).flatMap((c) => c.edits);
}

/** One logical setting: its first and last physical line (continuations). */
interface Span {
  first: number;
  last: number;
}

function continues(line: string): boolean {
  return /\\\s*$/.test(line);
}

function isComment(line: string): boolean {
  return /^\s*#/.test(line);
}

/** The line without its leading `#` (and the blanks after it), trimmed. */
function uncommented(line: string): string {
  return line.replace(/^\s*#\s*/, "").trim();
}

function optionPattern(option: string): RegExp {
  return new RegExp(`^\\s*(?:hide\\s+)?${escapeRegExp(option)}\\s*=`);
}

/** The active settings of any of `options` in `lines`, continuation lines included. */
function activeSpans(lines: string[], options: string[]): Span[] {
  const patterns = options.map(optionPattern);
  const spans: Span[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] ?? "";
    if (line.trim() === "" || isComment(line)) continue;
    let last = i;
    while (continues(lines[last] ?? "") && last + 1 < lines.length) last += 1;
    if (patterns.some((p) => p.test(line))) spans.push({ first: i, last });
    i = last;
  }
  return spans;
}

/** The physical lines of every active setting of `options` in `text`. */
function activeLines(text: string, options: string[]): string[] {
  const lines = text.split("\n");
  return activeSpans(lines, options).flatMap((s) => lines.slice(s.first, s.last + 1));
}

/** The value of one logical setting: continuations joined, the option name and `=` removed. */
function settingValue(lines: string[], span: Span): string {
  const joined = lines
    .slice(span.first, span.last + 1)
    .map((l, i, all) => (i < all.length - 1 ? l.replace(/\\\s*$/, "") : l))
    .map((l, i) => (i === 0 ? l : l.trimStart()))
    .join("");
  return joined.slice(joined.indexOf("=") + 1).trim();
}

function wordPattern(word: string): RegExp {
  return new RegExp(`(?<![A-Za-z0-9_])${escapeRegExp(word)}(?![A-Za-z0-9_])`, "g");
}

function hasWord(line: string, word: string): boolean {
  return wordPattern(word).test(line);
}

/** The options an edit concerns. */
function editOptions(edit: OptionEdit): string[] {
  return edit.kind === "own" ? edit.options : [edit.option];
}

/** `text` with `edit` applied: every active setting commented out (`own`), or the word swapped (`word`). */
export function applyEdit(edit: OptionEdit, text: string): string {
  const lines = text.split("\n");
  for (const span of activeSpans(lines, editOptions(edit))) {
    for (let i = span.first; i <= span.last; i += 1) {
      const line = lines[i] ?? "";
      lines[i] = edit.kind === "own" ? `# ${line}` : line.replace(wordPattern(edit.from), edit.to);
    }
  }
  return lines.join("\n");
}

/** `text` with every edit of `edits` applied, in catalogue order. */
export function applyEdits(edits: readonly OptionEdit[], text: string): string {
  return edits.reduce((t, e) => applyEdit(e, t), text);
}

/**
 * `text` with `edit` undone against `upstream`, the file it was made
 * from: a commented copy of one of upstream's active lines becomes that
 * line again (whatever comment style: the old installer wrote its own);
 * a swapped word goes back only where upstream has the original.
 */
export function undoEdit(edit: OptionEdit, text: string, upstream: string): string {
  const theirs = activeLines(upstream, editOptions(edit));
  if (edit.kind === "own") {
    const byContent = new Map(theirs.map((l) => [normal(l), l]));
    return text
      .split("\n")
      .map((l) => (isComment(l) ? byContent.get(normal(uncommented(l))) ?? l : l))
      .join("\n");
  }
  if (!theirs.some((l) => hasWord(l, edit.from))) return text;
  const lines = text.split("\n");
  for (const span of activeSpans(lines, [edit.option])) {
    for (let i = span.first; i <= span.last; i += 1) lines[i] = (lines[i] ?? "").replace(wordPattern(edit.to), edit.from);
  }
  return lines.join("\n");
}

/** Collapses blanks so `rfc1413_hosts   =` and `rfc1413_hosts =` compare equal. */
function normal(line: string): string {
  return line.trim().replace(/[ \t]+/g, " ");
}

/**
 * Where `edit` stands in one file: `local` is the local tree's text and
 * `upstream` upstream's (null: no such file). Something active to edit
 * locally is `absent` (still to do). An `own` edit is never `modified`:
 * with nothing active left, the option is ours. A `word` edit is
 * `upstream` where upstream's line lacks the word (nothing to edit), and
 * `modified` where upstream's line has it but the local line has neither
 * word (the admin rewrote it).
 */
export function editPartState(edit: OptionEdit, local: string | null, upstream: string | null): EditPartState {
  const mine = local === null ? [] : activeLines(local, editOptions(edit));
  const theirs = upstream === null ? [] : activeLines(upstream, editOptions(edit));
  if (edit.kind === "own") {
    if (mine.length > 0) return "absent";
    return theirs.length > 0 ? "ours" : "upstream";
  }
  if (!theirs.some((l) => hasWord(l, edit.from))) return "upstream";
  if (mine.some((l) => hasWord(l, edit.from))) return "absent";
  return mine.some((l) => hasWord(l, edit.to)) ? "ours" : "modified";
}

/** One edit's state over a tree's main-options files: the least finished file decides. */
export function combineEditParts(states: EditPartState[]): EditPartState {
  for (const s of ["modified", "absent", "ours"] as const) if (states.includes(s)) return s;
  return "upstream";
}

/** True when two texts are equal line by line, comment lines compared by their content (comment style aside). */
function sameText(a: string, b: string): boolean {
  const x = a.split("\n");
  const y = b.split("\n");
  if (x.length !== y.length) return false;
  return x.every((l, i) => {
    const m = y[i] ?? "";
    return l === m || (isComment(l) && isComment(m) && normal(uncommented(l)) === normal(uncommented(m)));
  });
}

/** Every subset of `items`, the empty one first. */
function subsets<T>(items: readonly T[]): T[][] {
  return items.reduce<T[][]>((acc, item) => [...acc, ...acc.map((s) => [...s, item])], [[]]);
}

/**
 * When `local` is `base` (the upstream text it was made from) plus some
 * of the catalogue's edits for `path`, returns those edits re-applied to
 * `newUpstream`, together with the edits of the changes `installed` in the
 * local tree (so a line upstream adds to an option we own is commented out
 * too); otherwise null. Any upstream change, next to an edited line or on
 * it, is taken this way: only the admin's own edits make it null.
 */
export function deriveWithKnownEdits(
  app: App,
  path: string,
  base: string,
  local: string,
  newUpstream: string,
  installed: ReadonlySet<ChangeId> = new Set(),
): string | null {
  const edits = editsFor(app, path);
  if (edits.length === 0) return null;
  const used = subsets(edits).find((s) => sameText(applyEdits(s, base), local));
  if (!used) return null;
  const withInstalled = edits.filter((e) => used.includes(e) || installed.has(e.change));
  const chosen = sameText(applyEdits(withInstalled, base), local) ? withInstalled : used;
  return applyEdits(chosen, newUpstream);
}

/** A log_selector flag: `+name` or `-name`. */
const FLAG = /^[+-][A-Za-z0-9_]+$/;

/** ch3's one `log_selector` value, and what of upstream's it could not carry. */
export interface LogSelector {
  /** Upstream's flags first (as upstream orders them), then ours. */
  value: string;
  /** Upstream's flags that are not in the value: negations of ours, or words that are no flag (e.g. after a `#`). */
  dropped: string[];
  /** Upstream's flags, as found. */
  upstream: string[];
}

/**
 * ch3's `log_selector` value from upstream's main-options texts: every
 * flag of every active upstream `log_selector` setting, then ours. An
 * upstream `-flag` that negates one of ours is dropped (ours wins).
 */
export function logSelectorFor(upstreamTexts: string[]): LogSelector {
  const upstream = upstreamTexts.flatMap((text) => {
    const lines = text.split("\n");
    return activeSpans(lines, ["log_selector"]).flatMap((s) => settingValue(lines, s).split(/\s+/).filter(Boolean));
  });
  const ours = new Set<string>(OUR_LOG_FLAGS);
  const kept: string[] = [];
  const dropped: string[] = [];
  for (const flag of upstream) {
    const negatesOurs = flag.startsWith("-") && ours.has(`+${flag.slice(1)}`);
    if (!FLAG.test(flag) || negatesOurs) dropped.push(flag);
    else if (!ours.has(flag) && !kept.includes(flag)) kept.push(flag);
  }
  return { value: [...kept, ...OUR_LOG_FLAGS].join(" "), dropped, upstream };
}

/** A line of the catalogue's edits, shown to the admin. */
export function describeEdit(edit: OptionEdit): string {
  return edit.kind === "own"
    ? `every active ${edit.options.map((o) => `\`${o}\``).join(" and ")} setting commented out`
    : `\`${edit.from}\` → \`${edit.to}\` in the \`${edit.option}\` setting`;
}
