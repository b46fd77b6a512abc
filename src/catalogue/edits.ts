/**
 * The in-place edits the changes make to upstream snippets (ch3, ch4,
 * ch11), as data that `sync` can re-apply to a newer upstream file and
 * recognise in old installs. Everything here is a pure function of text.
 */
import type { App } from "../server-layout.js";
import { editsFor } from "./catalogue.js";
import type { LineEdit } from "./catalogue.js";

/** Where an edit stands in a text: done, still to do, or its line is gone (edited by someone else). */
export type EditState = "applied" | "unapplied" | "missing";

/** Collapses blanks so `rfc1413_hosts   =` and `rfc1413_hosts =` compare equal. */
function normal(line: string): string {
  return line.trim().replace(/[ \t]+/g, " ");
}

/** The text after a leading `#`, or null when the line is not a comment. */
function uncommented(line: string): string | null {
  const m = /^\s*#\s?(.*)$/.exec(line);
  return m ? (m[1] ?? "") : null;
}

function isComment(line: string): boolean {
  return /^\s*#/.test(line);
}

/** `text` as a regular expression matching exactly itself. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function wordPattern(word: string): RegExp {
  return new RegExp(`(?<![A-Za-z0-9_])${escapeRegExp(word)}(?![A-Za-z0-9_])`, "g");
}

function setsOption(line: string, option: string): boolean {
  return !isComment(line) && new RegExp(`^\\s*${escapeRegExp(option)}\\s*=`).test(line);
}

/** True when `line` is the edit's upstream ("from") form. */
function isFromLine(edit: LineEdit, line: string): boolean {
  if (edit.kind === "comment") return !isComment(line) && normal(line) === normal(edit.line);
  return setsOption(line, edit.option) && wordPattern(edit.from).test(line);
}

/** True when `line` is the edit's applied ("to") form, written by us or by the old installer. */
function isToLine(edit: LineEdit, line: string): boolean {
  if (edit.kind === "comment") {
    const rest = uncommented(line);
    return rest !== null && normal(rest) === normal(edit.line);
  }
  return setsOption(line, edit.option) && !wordPattern(edit.from).test(line) && wordPattern(edit.to).test(line);
}

/** The applied form of a "from" line. */
function applyToLine(edit: LineEdit, line: string): string {
  if (edit.kind === "comment") return `# ${line}`;
  return line.replace(wordPattern(edit.from), edit.to);
}

/** The "from" form of an applied line. */
function undoLine(edit: LineEdit, line: string): string {
  if (edit.kind === "comment") return uncommented(line) ?? line;
  return line.replace(wordPattern(edit.to), edit.from);
}

/**
 * Where `edit` stands in `text`: an active "from" line means it is still to
 * do (even beside a commented copy), else a "to" line means it is done.
 */
export function editState(edit: LineEdit, text: string): EditState {
  const lines = text.split("\n");
  if (lines.some((l) => isFromLine(edit, l))) return "unapplied";
  if (lines.some((l) => isToLine(edit, l))) return "applied";
  return "missing";
}

/** `text` with `edit` applied to every line in its "from" form. */
export function applyEdit(edit: LineEdit, text: string): string {
  return text
    .split("\n")
    .map((l) => (isFromLine(edit, l) ? applyToLine(edit, l) : l))
    .join("\n");
}

/** `text` with `edit` undone: every line in its applied form goes back to the "from" form. */
export function undoEdit(edit: LineEdit, text: string): string {
  return text
    .split("\n")
    .map((l) => (isToLine(edit, l) ? undoLine(edit, l) : l))
    .join("\n");
}

/** A line of the catalogue's edits, shown to the admin (`log_selector = +tls_sni`). */
export function describeEdit(edit: LineEdit): string {
  return edit.kind === "comment"
    ? `comment out \`${edit.line}\``
    : `\`${edit.from}\` → \`${edit.to}\` in the \`${edit.option}\` line`;
}

/**
 * True when `local` is `up` with `edit` applied. A commented line counts
 * whatever its comment style, since the old installer wrote its own.
 */
function isAppliedFormOf(edit: LineEdit, up: string, local: string): boolean {
  if (!isFromLine(edit, up)) return false;
  return edit.kind === "comment" ? isToLine(edit, local) : normal(applyToLine(edit, up)) === normal(local);
}

/**
 * Which of `edits` turn `upstream` into `local`, line by line: each line is
 * the same, or the applied form of its upstream line under one of the edits.
 * Null when some difference is not a known edit (or the line counts differ).
 */
export function recogniseEdits(edits: LineEdit[], upstream: string, local: string): LineEdit[] | null {
  const up = upstream.split("\n");
  const loc = local.split("\n");
  if (up.length !== loc.length) return null;
  const used = new Set<LineEdit>();
  for (const [i, u] of up.entries()) {
    const l = loc[i] ?? "";
    if (l === u) continue;
    const edit = edits.find((e) => isAppliedFormOf(e, u, l));
    if (!edit) return null;
    used.add(edit);
  }
  return edits.filter((e) => used.has(e));
}

/**
 * When `local` is `upstream` with some subset of the catalogue's edits for
 * `path` applied, returns those edits applied to `newUpstream`; otherwise
 * null. Also null when an edit no longer finds its line in `newUpstream`:
 * then the admin has to look, not us guess.
 */
export function deriveWithKnownEdits(
  app: App,
  path: string,
  upstream: string,
  local: string,
  newUpstream: string,
): string | null {
  const used = recogniseEdits(editsFor(app, path), upstream, local);
  if (!used) return null;
  let out = newUpstream;
  for (const edit of used) {
    if (editState(edit, out) !== "unapplied") return null;
    out = applyEdit(edit, out);
  }
  return out;
}
