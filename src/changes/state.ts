/**
 * Where each change stands in a local tree: every file it writes, every
 * line it edits and ch6's define block is found ours, absent, or changed by
 * someone else; the change's state follows from its parts. `changes` shows
 * this; `install` decides from it what it may touch.
 */
import { appPaths } from "../server-layout.js";
import type { App } from "../server-layout.js";
import type { Reader } from "../system/system.js";
import { CATALOGUE, CONNECT_CHECK_FILE, changeFiles } from "../catalogue/catalogue.js";
import type { Change, ChangeId, LineEdit } from "../catalogue/catalogue.js";
import { describeEdit, editState } from "../catalogue/edits.js";
import { splitDefineBlock } from "./firewall.js";
import { isOurText } from "../catalogue/templates.js";

/** A change's state on this machine (the `changes --json` vocabulary). */
export type ChangeState = "installed" | "not-installed" | "partial" | "modified";

/** One part of a change: `upstream` is an edit whose effect upstream already ships. */
export type PartState = "ours" | "absent" | "modified" | "upstream";

/** What a snippet path holds in a tree. */
export type Content = { kind: "file"; text: string } | { kind: "missing" } | { kind: "other" };

/**
 * The local tree as install will find it: sympl-local.d, or, when it is
 * still to be created, sympl.d (which the creation copies).
 */
export interface TreeView {
  app: App;
  localExists: boolean;
  local(rel: string): Content;
  upstream(rel: string): Content;
  /** True when the local tree has (or will have) this directory. */
  hasDir(rel: string): boolean;
}

function contentAt(sys: Reader, path: string): Content {
  const st = sys.stat(path);
  if (!st) return { kind: "missing" };
  if (st.type !== "file") return { kind: "other" };
  return { kind: "file", text: sys.readFile(path).toString("utf8") };
}

/** The view of `app`'s local tree through `sys`. */
export function treeView(sys: Reader, app: App): TreeView {
  const p = appPaths(app);
  const localExists = sys.stat(p.local)?.type === "dir";
  const localDir = localExists ? p.local : p.upstream;
  return {
    app,
    localExists,
    local: (rel) => contentAt(sys, `${localDir}/${rel}`),
    upstream: (rel) => contentAt(sys, `${p.upstream}/${rel}`),
    hasDir: (rel) => sys.stat(`${localDir}/${rel}`)?.type === "dir",
  };
}

/** The text of a content, or null when it is no file. */
export function textOf(c: Content): string | null {
  return c.kind === "file" ? c.text : null;
}

/** ch5's file carries ch6's defines after its own text; everything else is the file itself. */
export function ownPart(rel: string, text: string): string {
  return rel === CONNECT_CHECK_FILE ? splitDefineBlock(text).base : text;
}

/** The state of a file a change writes (adds, or replaces upstream's). */
export function fileState(view: TreeView, change: Change, rel: string): PartState {
  const cur = view.local(rel);
  if (cur.kind === "missing") return "absent";
  if (cur.kind === "other") return "modified";
  if (isOurText(rel, ownPart(rel, cur.text))) return "ours";
  if (change.replaces.includes(rel) && cur.text === textOf(view.upstream(rel))) return "absent";
  return "modified";
}

/** The state of one line edit: `upstream` when upstream itself already has the edited line. */
export function lineEditState(view: TreeView, edit: LineEdit): PartState {
  const cur = textOf(view.local(edit.path));
  if (cur === null) return "modified";
  const state = editState(edit, cur);
  if (state === "unapplied") return "absent";
  if (state === "missing") return "modified";
  const up = textOf(view.upstream(edit.path));
  return up !== null && editState(edit, up) === "unapplied" ? "ours" : "upstream";
}

/** The state of ch6's define block in ch5's file. */
function blockState(view: TreeView): PartState {
  const cur = textOf(view.local(CONNECT_CHECK_FILE));
  return cur !== null && splitDefineBlock(cur).block !== "" ? "ours" : "absent";
}

/** One named part of a change and its state. */
export interface Part {
  what: string;
  state: PartState;
}

/** Every part of `change` in `view`. */
function partsOf(view: TreeView, change: Change): Part[] {
  const parts: Part[] = changeFiles(change.id).map((rel) => ({ what: rel, state: fileState(view, change, rel) }));
  for (const edit of change.edits) parts.push({ what: `${edit.path}: ${describeEdit(edit)}`, state: lineEditState(view, edit) });
  if (change.appendsTo) parts.push({ what: `${change.appendsTo}: firewall defines`, state: blockState(view) });
  return parts;
}

/** A change's state from its parts' states. */
function stateFromParts(parts: Part[]): ChangeState {
  const present = (s: PartState) => s === "ours" || s === "upstream";
  if (parts.some((p) => p.state === "modified")) return "modified";
  if (parts.length > 0 && parts.every((p) => present(p.state))) return "installed";
  if (parts.every((p) => p.state === "absent")) return "not-installed";
  return "partial";
}

/** The state of every change of `view.app`, in catalogue order. */
export function changeStates(view: TreeView): Map<ChangeId, { state: ChangeState; parts: Part[] }> {
  const out = new Map<ChangeId, { state: ChangeState; parts: Part[] }>();
  for (const change of CATALOGUE.filter((c) => c.app === view.app)) {
    const parts = view.localExists ? partsOf(view, change) : [];
    out.set(change.id, { state: view.localExists ? stateFromParts(parts) : "not-installed", parts });
  }
  return out;
}
