/**
 * The three-way decision as a table (docs/sympl.md, sync), and the line merge
 * sync relies on for "both changed".
 */
import { describe, expect, it } from "vitest";
import type { ClassifyInput, State } from "../src/sync/classify.js";
import { ACTION_STATES, classify } from "../src/sync/classify.js";
import { mergeThreeWay } from "../src/sync/merge.js";

const B = "b".repeat(64);
const U = "u".repeat(64);
const L = "l".repeat(64);

describe("classify with a baseline", () => {
  const rows: Array<[string, Omit<ClassifyInput, "hasBase">, State]> = [
    ["U same, L same", { base: B, up: B, local: { sha256: B } }, "clean"],
    ["U same, L changed", { base: B, up: B, local: { sha256: L } }, "local-modified"],
    ["U same, L deleted", { base: B, up: B }, "local-deleted"],
    ["only L has it", { local: { sha256: L } }, "local-added"],
    ["U changed, L same", { base: B, up: U, local: { sha256: B } }, "upstream-modified"],
    ["U added, L lacks it", { up: U }, "upstream-added"],
    ["U retired, L same", { base: B, local: { sha256: B } }, "upstream-deleted"],
    ["both changed alike", { base: B, up: U, local: { sha256: U } }, "converged"],
    ["both retired", { base: B }, "converged"],
    ["both added alike", { up: U, local: { sha256: U } }, "converged"],
    ["both changed differently", { base: B, up: U, local: { sha256: L } }, "conflict"],
    ["U retired, L changed", { base: B, local: { sha256: L } }, "conflict"],
    ["U changed, L deleted", { base: B, up: U }, "conflict"],
    ["both added differently", { up: U, local: { sha256: L } }, "conflict"],
    ["L mirrors U by a link", { base: B, up: U, local: { linked: true } }, "linked"],
    ["L mirrors a retired U", { base: B, local: { linked: true } }, "upstream-deleted"],
    ["unsettled, still different", { base: B, up: B, local: { sha256: L }, unsettled: true }, "diverged"],
    ["unsettled, now equal", { base: U, up: U, local: { sha256: U }, unsettled: true }, "converged"],
  ];
  it.each(rows)("%s → %s", (_name, input, state) => {
    expect(classify({ hasBase: true, ...input })).toBe(state);
  });
});

describe("classify without a baseline (adopting an old tree)", () => {
  const rows: Array<[string, Omit<ClassifyInput, "hasBase">, State]> = [
    ["identical", { up: U, local: { sha256: U } }, "clean"],
    ["local only", { local: { sha256: L } }, "local-added"],
    ["upstream only: deleted locally or added upstream, unknown", { up: U }, "diverged"],
    ["different, unexplained", { up: U, local: { sha256: L } }, "diverged"],
    ["different by exactly a known edit", { up: U, local: { sha256: L }, knownEdit: "same" }, "local-modified"],
    ["known edit to re-derive on today's upstream", { up: U, local: { sha256: L }, knownEdit: "rederive" }, "upstream-modified"],
    ["legacy absolute 60-sni link", { up: U, local: { linked: true } }, "linked"],
  ];
  it.each(rows)("%s → %s", (_name, input, state) => {
    expect(classify({ hasBase: false, ...input })).toBe(state);
  });
});

describe("which states need action", () => {
  it("upstream changes, conflicts and diverged paths do; local changes do not", () => {
    expect([...ACTION_STATES].sort()).toEqual(["conflict", "diverged", "upstream-added", "upstream-deleted", "upstream-modified"]);
  });
});

describe("mergeThreeWay", () => {
  const buf = (s: string) => Buffer.from(s, "latin1");
  const base = "one\ntwo\nthree\nfour\nfive\nsix\n";

  it("merges edits to different lines", () => {
    const local = "one\nTWO (local)\nthree\nfour\nfive\nsix\n";
    const up = "one\ntwo\nthree\nfour\nfive\nSIX (upstream)\n";
    expect(mergeThreeWay(buf(base), buf(local), buf(up))?.toString("latin1")).toBe("one\nTWO (local)\nthree\nfour\nfive\nSIX (upstream)\n");
  });

  it("refuses edits of the same line", () => {
    expect(mergeThreeWay(buf(base), buf(base.replace("two", "local")), buf(base.replace("two", "upstream")))).toBeNull();
  });

  it("keeps a missing final newline", () => {
    const merged = mergeThreeWay(buf(base), buf(`# local\n${base}`), buf(`${base}seven`));
    expect(merged?.toString("latin1")).toBe(`# local\n${base}seven`);
  });

  it("leaves a non-UTF-8 file to the admin rather than merge bytes it cannot read", () => {
    const local = Buffer.concat([buf("# caf"), Buffer.from([0xe9]), buf("\n"), buf(base)]);
    expect(mergeThreeWay(buf(base), local, buf(`${base}seven\n`))).toBeNull();
  });
});
