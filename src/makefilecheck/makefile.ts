/**
 * The upstream Makefile as text: which snippet tree it reads and with which
 * `find -type`, and the two variants derived from it. Only the value of the
 * `snippets_dir :=` line and the `-type` argument of the `snippets :=` find
 * line are ever rewritten; every other byte is upstream's. A text without
 * exactly that shape is refused with the file and line, never guessed at.
 */
import { InputError, problem } from "../errors.js";
import type { Mode } from "../server-layout.js";

/** What a Makefile text builds from, and where the two rewritable values sit. */
export interface Reading {
  /** The `snippets_dir` value, e.g. `sympl.d`. */
  dir: string;
  /** The `-type` argument of the snippets find, e.g. `f` or `f,l`. */
  type: string;
}

/** The tree and find type each mode's Makefile must have. */
const VARIANT_SHAPE: Record<Mode, Reading> = {
  local: { dir: "sympl-local.d", type: "f,l" },
  sympl: { dir: "sympl.d", type: "f" },
};

const DIR_LINE = /^(\s*snippets_dir\s*:?=\s*)(\S*)(\s*(?:#.*)?)$/;
// Any assignment to the two variables counts (`=`, `:=`, `+=`, `?=`): a
// second one, appending another tree, would make the Makefile read more
// than the value we rewrite.
const DIR_ASSIGNMENT = /^\s*snippets_dir\s*[:+?]?=/;
const SNIPPETS_ASSIGNMENT = /^\s*snippets\s*[:+?]?=/;
const TYPE_ARG = /(\s-type\s+)(\S+)/g;
// A directory name the find can be pointed at: no spaces, quotes, `$` or `/`.
const PLAIN_DIR = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const PLAIN_TYPE = /^[a-z](?:,[a-z])*$/;

interface Located extends Reading {
  lines: string[];
  dirLine: number;
  typeLine: number;
}

/** Finds the two lines, refusing anything but exactly one of each in the known shape. */
function locate(path: string, text: string): Located {
  const lines = text.split("\n");
  const fail = (line: number | null, what: string, fix: string): never => {
    throw new InputError(problem(path, line === null ? what : `line ${line + 1}: ${what}`, fix));
  };
  const dirLines = lines.flatMap((l, i) => (DIR_ASSIGNMENT.test(l) ? [i] : []));
  const findLines = lines.flatMap((l, i) => (SNIPPETS_ASSIGNMENT.test(l) ? [i] : []));
  const fix = "expected the upstream Sympl Makefile shape; restore it from the sympl package";
  if (dirLines.length === 0) fail(null, "no `snippets_dir := DIR` line", fix);
  if (dirLines.length > 1) fail(dirLines[1]!, "a second `snippets_dir` assignment", fix);
  if (findLines.length === 0) fail(null, "no `snippets := $(shell find ...)` line", fix);
  if (findLines.length > 1) fail(findLines[1]!, "a second `snippets` assignment", fix);
  const dirLine = dirLines[0]!;
  const typeLine = findLines[0]!;
  const dirMatch = DIR_LINE.exec(lines[dirLine]!);
  const dir = dirMatch?.[2] ?? "";
  if (!dirMatch || !PLAIN_DIR.test(dir)) fail(dirLine, "`snippets_dir` is not a plain directory name", fix);
  const find = lines[typeLine]!;
  if (!/\$\(shell\s+find\s/.test(find) || !find.includes("$(snippets_dir)")) {
    fail(typeLine, "`snippets` is not a `$(shell find ...$(snippets_dir)...)` line", fix);
  }
  const types = [...find.matchAll(TYPE_ARG)];
  if (types.length !== 1) fail(typeLine, `expected one \`-type\` argument in the find, found ${types.length}`, fix);
  const type = types[0]![2]!;
  if (!PLAIN_TYPE.test(type)) fail(typeLine, `\`-type ${type}\` is not a find type list`, fix);
  return { lines, dir, type, dirLine, typeLine };
}

/** Parses a Makefile text; throws InputError naming `path` and the line when its shape is unexpected. */
export function readMakefile(path: string, text: string): Reading {
  const { dir, type } = locate(path, text);
  return { dir, type };
}

/** The mode a reading corresponds to, or null when it is neither variant's shape. */
export function modeOfReading(reading: Reading): Mode | null {
  for (const mode of ["local", "sympl"] as const) {
    const want = VARIANT_SHAPE[mode];
    if (reading.dir === want.dir && reading.type === want.type) return mode;
  }
  return null;
}

/**
 * The `mode` variant of an upstream Makefile text: the same bytes with only
 * the `snippets_dir` value and the `-type` argument replaced. Deriving from
 * either variant gives the same result as deriving from upstream, so a
 * variant can stand in for the upstream text it came from.
 */
export function deriveVariant(path: string, upstreamText: string, mode: Mode): string {
  const at = locate(path, upstreamText);
  const want = VARIANT_SHAPE[mode];
  const lines = [...at.lines];
  lines[at.dirLine] = lines[at.dirLine]!.replace(DIR_LINE, (_m, head: string, _v: string, tail: string) => `${head}${want.dir}${tail}`);
  lines[at.typeLine] = lines[at.typeLine]!.replace(TYPE_ARG, (_m, head: string) => `${head}${want.type}`);
  return lines.join("\n");
}
