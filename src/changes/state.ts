/**
 * Where each change stands in a local tree: every file it writes, every
 * line it edits and ch6's define block is found ours, absent, or changed by
 * someone else; the change's state follows from its parts. `changes` shows
 * this; `install` decides from it what it may touch.
 */
import { appPaths, isSnippetName } from "../server-layout.js";
import type { App } from "../server-layout.js";
import type { Reader } from "../system/system.js";
import { posix } from "node:path";
import { CATALOGUE, CONNECT_CHECK_FILE, MAIN_OPTIONS_DIR, changeFiles } from "../catalogue/catalogue.js";
import type { Change, ChangeId, OptionEdit } from "../catalogue/catalogue.js";
import { combineEditParts, describeEdit, editPartState, isMainOptionsFile, logSelectorFor } from "../catalogue/edits.js";
import type { EditPartState, LogSelector } from "../catalogue/edits.js";
import { splitDefineBlock } from "./firewall.js";
import { isOurText } from "../catalogue/templates.js";
import { inTree, snippetPath } from "../paths.js";
import type { ServerPath } from "../paths.js";

/**
 * A change's state on this machine (the `changes --json` vocabulary), by
 * its switch and what is on disk; the README has the same table. A part
 * is one file the change writes or one edit over upstream's main options.
 */
export const CHANGE_STATES = {
  installed: "every part is in place (ours, or upstream already does it)",
  "not-installed": "some part is missing (or all are), and the change is switched off or can be installed",
  "not-needed": "upstream already does it, or has nothing for it to edit",
  modified: "a file or line that is ours was changed by the admin",
  waiting: "switched on, not installed, and not installable yet (ch2 without both ports, ch6 without a firewall database exim can use)",
} as const;
export type ChangeState = keyof typeof CHANGE_STATES;

/** One part of a change: `upstream` is an edit upstream makes needless (it does it, or has nothing to edit). */
export type PartState = EditPartState;

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
  /** Upstream's main-options files, the ones the changes' edits concern. */
  mainOptionFiles(): string[];
}

function contentAt(sys: Reader, path: ServerPath): Content {
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
    local: (rel) => contentAt(sys, inTree(localDir, snippetPath(rel))),
    upstream: (rel) => contentAt(sys, inTree(p.upstream, snippetPath(rel))),
    hasDir: (rel) => sys.stat(inTree(localDir, snippetPath(rel)))?.type === "dir",
    mainOptionFiles: () => {
      const dir = inTree(p.upstream, snippetPath(MAIN_OPTIONS_DIR));
      if (sys.stat(dir)?.type !== "dir") return [];
      return sys
        .list(dir)
        .map((name) => `${MAIN_OPTIONS_DIR}/${name}`)
        .filter((rel) => isMainOptionsFile(rel) && isSnippetName(posix.basename(rel)) && sys.stat(inTree(p.upstream, snippetPath(rel)))?.type === "file");
    },
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

/** The state of one edit over upstream's main-options files. */
export function optionEditState(view: TreeView, edit: OptionEdit): PartState {
  return combineEditParts(view.mainOptionFiles().map((rel) => editPartState(edit, textOf(view.local(rel)), textOf(view.upstream(rel)))));
}

/** ch3's log_selector value for this tree's upstream main options. */
export function logSelectorOf(view: TreeView): LogSelector {
  return logSelectorFor(view.mainOptionFiles().map((rel) => textOf(view.upstream(rel)) ?? ""));
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
  for (const edit of change.edits) parts.push({ what: `${MAIN_OPTIONS_DIR}: ${describeEdit(edit)}`, state: optionEditState(view, edit) });
  if (change.appendsTo) parts.push({ what: `${change.appendsTo}: firewall defines`, state: blockState(view) });
  return parts;
}

/**
 * A change's state from its parts' states; `waiting` says why a change
 * that is switched on cannot be installed yet (null: it can, or it is off).
 * Some parts in place and others missing (`partial` in earlier releases:
 * an interrupted run, or an upgrade that added a line ch3 or ch4 owns) is
 * `not-installed`: install completes it, or removes the rest when off.
 */
export function stateFromParts(parts: Part[], waiting: string | null): ChangeState {
  if (parts.some((p) => p.state === "modified")) return "modified";
  if (parts.length > 0 && parts.every((p) => p.state === "upstream")) return "not-needed";
  if (parts.length > 0 && parts.every((p) => p.state === "ours" || p.state === "upstream")) return "installed";
  return waiting ? "waiting" : "not-installed";
}

/** One change's state, its parts, and why it waits (when it does). */
export interface ChangeStatus {
  state: ChangeState;
  parts: Part[];
  waiting?: string;
}

/**
 * The state of every change of `view.app`, in catalogue order.
 * `waitingFor` gives, for a change switched on, why it cannot be
 * installed yet (null when it can or is off).
 */
export function changeStates(view: TreeView, waitingFor: (id: ChangeId) => string | null = () => null): Map<ChangeId, ChangeStatus> {
  const out = new Map<ChangeId, ChangeStatus>();
  for (const change of CATALOGUE.filter((c) => c.app === view.app)) {
    // Without sympl-local.d the view reads sympl.d, which install copies: nothing of ours, but not-needed shows.
    const parts = partsOf(view, change);
    const waiting = waitingFor(change.id);
    const state = stateFromParts(parts, waiting);
    out.set(change.id, { state, parts, ...(state === "waiting" && waiting ? { waiting } : {}) });
  }
  return out;
}
