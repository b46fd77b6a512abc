/**
 * Whether the config the daemons read (`/etc/APP/APP.conf`, which make
 * assembles) is the one the chosen tree builds to: the changes are in force
 * only then (docs/sympl.md, "the built config is what runs"). Pure: the
 * built text and the trees' snippets come in as data, see read.ts.
 *
 * The built file is split at the banner lines the Makefile writes above
 * each snippet. Only the part of a banner after `sympl.d/` or
 * `sympl-local.d/` is used, so the result does not depend on --root or on
 * where make ran, nor on the banner's wording (releases differ).
 */
import { isSnippetName } from "../server-layout.js";

/** The two trees a build can come from, by directory name. */
export type TreeName = "sympl.d" | "sympl-local.d";

/** How the built config stands against the chosen tree. */
export type BuiltState = "current" | "stale" | "missing" | "differs";

/** One snippet of a tree as the Makefile would concatenate it. */
export interface TreeSnippet {
  rel: string;
  body: string;
  /** Latest of the file's mtime and ctime: when its bytes last changed (dpkg keeps a package's mtime, never its ctime). */
  changedMs: number;
}

/** One section of a built file: the snippet its banner names and the text that follows. */
export interface Section {
  tree: TreeName;
  rel: string;
  body: string;
}

/** Everything the classification looks at. */
export interface BuiltFacts {
  /** The built file's text, null when there is none. */
  text: string | null;
  /** When the built file was last written. */
  builtMs: number;
  /** The tree that should be in force and its snippets. */
  tree: TreeName;
  snippets: TreeSnippet[];
  /** The other tree's snippets, for telling "built from the other tree"; read only when the build is not current. */
  other: () => TreeSnippet[];
}

/** The verdict, with the sections read (empty when the file has no banner). */
export interface BuiltVerdict {
  state: BuiltState;
  sections: Section[];
}

/** A banner: a comment line ending in a path through one of the trees. */
const BANNER = /^#.*?(?:^|[\s/])(sympl\.d|sympl-local\.d)\/(\S+)\s*$/;

/** True when `rel` is a snippet path: plain parts, a snippet name last. */
function isSnippetPath(rel: string): boolean {
  const parts = rel.split("/");
  return parts.every((p) => p !== "" && p !== "." && p !== "..") && isSnippetName(parts[parts.length - 1] ?? "");
}

interface Banner {
  start: number;
  end: number;
  tree: TreeName;
  rel: string;
}

function banners(text: string): Banner[] {
  const found: Banner[] = [];
  let at = 0;
  while (at < text.length) {
    const nl = text.indexOf("\n", at);
    const end = nl < 0 ? text.length : nl + 1;
    const m = BANNER.exec(text.slice(at, nl < 0 ? text.length : nl));
    if (m && isSnippetPath(m[2]!)) found.push({ start: at, end, tree: m[1] as TreeName, rel: m[2]! });
    at = end;
  }
  return found;
}

/** The sections of a built file, and whether every one carries the same framing. */
interface Split {
  sections: Section[];
  /** False when a segment does not carry the framing the others do: a hand edit between sections. */
  framed: boolean;
}

/**
 * Splits `text` into sections. Each segment between two banner lines is
 * the framing the Makefile writes after a banner, the snippet, what it
 * writes after a snippet, and what it writes before the next banner (the
 * text ahead of the first banner). The first and the middle two parts are
 * found from the sections whose body is one of the `known` ones (by
 * `TREE/REL`): the same for every section, so the most common wins.
 */
export function splitBuilt(text: string, known: Map<string, string>): Split {
  const bs = banners(text);
  if (bs.length === 0) return { sections: [], framed: false };
  const before = text.slice(0, bs[0]!.start);
  let framed = true;
  const cores = bs.map((b, i) => {
    const next = bs[i + 1];
    const seg = text.slice(b.end, next ? next.start : text.length);
    if (!next) return seg;
    if (!seg.endsWith(before)) framed = false;
    return seg.endsWith(before) ? seg.slice(0, seg.length - before.length) : seg;
  });
  const votes = new Map<string, { after: string; trailer: string; n: number }>();
  bs.forEach((b, i) => {
    const body = known.get(`${b.tree}/${b.rel}`);
    const core = cores[i]!;
    const at = body ? core.indexOf(body) : -1;
    if (!body || at < 0) return;
    const after = core.slice(0, at);
    const trailer = core.slice(at + body.length);
    const key = JSON.stringify([after, trailer]);
    const vote = votes.get(key) ?? { after, trailer, n: 0 };
    vote.n += 1;
    votes.set(key, vote);
  });
  const { after, trailer } = [...votes.values()].sort((a, b) => b.n - a.n)[0] ?? { after: "", trailer: "" };
  const sections = bs.map((b, i) => {
    const core = cores[i]!;
    const fits = core.startsWith(after) && core.endsWith(trailer) && core.length >= after.length + trailer.length;
    if (!fits) framed = false;
    return { tree: b.tree, rel: b.rel, body: fits ? core.slice(after.length, core.length - trailer.length) : core };
  });
  return { sections, framed };
}

/** Orders names by their bytes, as `sort` does in the C locale. */
function bytewise(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Made on first use: ICU's collator costs `status` milliseconds, and only a build not in byte order needs it. */
let localeOrder: Intl.Collator | undefined;

/** Orders names roughly as `sort` does in a UTF-8 locale, where punctuation weighs last. */
function localeWise(a: string, b: string): number {
  localeOrder ??= new Intl.Collator("en", { ignorePunctuation: true, sensitivity: "variant" });
  return localeOrder.compare(a, b) || bytewise(a, b);
}

/** True when `rels` are in the order `sort` gives in the C locale or in a UTF-8 one. */
export function sortedAsMakeDoes(rels: string[]): boolean {
  const inOrder = (cmp: (a: string, b: string) => number) => rels.every((r, i) => i === 0 || cmp(rels[i - 1]!, r) <= 0);
  return inOrder(bytewise) || inOrder(localeWise);
}

/** True when the sections are exactly `tree`'s snippets, in an order make gives. */
function builtFrom(sections: Section[], tree: TreeName, snippets: TreeSnippet[]): boolean {
  if (sections.length !== snippets.length || sections.some((s) => s.tree !== tree)) return false;
  const bodies = new Map(snippets.map((s) => [s.rel, s.body]));
  return sections.every((s) => bodies.get(s.rel) === s.body) && sortedAsMakeDoes(sections.map((s) => s.rel));
}

/**
 * Classifies the built config against the chosen tree:
 * `current` when it is exactly what that tree builds to; `stale` when it
 * was built from the other tree, or from snippets that changed (or came
 * or went) since; `differs` when some text is neither: edited by hand.
 */
export function classifyBuilt(f: BuiltFacts): BuiltVerdict {
  if (f.text === null) return { state: "missing", sections: [] };
  const otherTree: TreeName = f.tree === "sympl.d" ? "sympl-local.d" : "sympl.d";
  const known = new Map<string, string>();
  for (const s of f.snippets) known.set(`${f.tree}/${s.rel}`, s.body);
  const mine = splitBuilt(f.text, known);
  if (mine.framed && builtFrom(mine.sections, f.tree, f.snippets)) return { state: "current", sections: mine.sections };
  const other = f.other();
  for (const s of other) known.set(`${otherTree}/${s.rel}`, s.body);
  const { sections, framed } = splitBuilt(f.text, known);
  if (!framed) return { state: "differs", sections };
  if (builtFrom(sections, otherTree, other)) return { state: "stale", sections };
  // Each section must be explained by a tree as it is now, or by a snippet
  // that changed (or was retired) after the build; each snippet of the
  // chosen tree missing from it must have come after the build.
  const byTree = { [f.tree]: f.snippets, [otherTree]: other } as Record<TreeName, TreeSnippet[]>;
  const find = (tree: TreeName, rel: string) => byTree[tree].find((s) => s.rel === rel);
  const explained = sections.every((sec) => {
    const now = find(sec.tree, sec.rel);
    return !now || now.body === sec.body || now.changedMs > f.builtMs;
  });
  const inBuild = new Set(sections.filter((s) => s.tree === f.tree).map((s) => s.rel));
  const newcomers = f.snippets.every((s) => inBuild.has(s.rel) || s.changedMs > f.builtMs || sections.some((x) => x.tree !== f.tree));
  return { state: explained && newcomers ? "stale" : "differs", sections };
}

/** True when the built sections hold `rel` of `tree` with exactly `body`. */
export function sectionInForce(sections: Section[], tree: TreeName, rel: string, body: string): boolean {
  return sections.some((s) => s.tree === tree && s.rel === rel && s.body === body);
}
