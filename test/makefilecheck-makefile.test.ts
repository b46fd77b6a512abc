import { describe, expect, it } from "vitest";
import { InputError } from "../src/errors.js";
import { deriveVariant, modeOfReading, readMakefile } from "../src/makefilecheck/makefile.js";
import { upstreamMakefile } from "./fixtures/sympl.js";

const PATH = "/etc/exim4/Makefile";
const upstream = upstreamMakefile("exim4");

/** The lines on which two texts differ. */
function changedLines(a: string, b: string): Array<[string, string]> {
  const al = a.split("\n");
  const bl = b.split("\n");
  expect(al.length).toBe(bl.length);
  return al.flatMap((l, i) => (l === bl[i] ? [] : [[l, bl[i]!] as [string, string]]));
}

describe("readMakefile / modeOfReading", () => {
  it.each([
    ["upstream", upstream, { dir: "sympl.d", type: "f" }, "sympl"],
    ["local variant", deriveVariant(PATH, upstream, "local"), { dir: "sympl-local.d", type: "f,l" }, "local"],
    ["odd dir", upstream.replace("snippets_dir := sympl.d", "snippets_dir := custom.d"), { dir: "custom.d", type: "f" }, null],
    ["local dir, type f only", upstream.replace("snippets_dir := sympl.d", "snippets_dir := sympl-local.d"), { dir: "sympl-local.d", type: "f" }, null],
    ["tabs and a comment", upstream.replace("snippets_dir := sympl.d", "snippets_dir\t:=\tsympl.d   # upstream tree"), { dir: "sympl.d", type: "f" }, "sympl"],
  ])("%s", (_name, text, reading, mode) => {
    const r = readMakefile(PATH, text);
    expect(r).toEqual(reading);
    expect(modeOfReading(r)).toBe(mode);
  });

  it.each([
    ["no snippets_dir line", upstream.replace(/^snippets_dir.*\n/m, ""), /^\/etc\/exim4\/Makefile: no `snippets_dir := DIR` line — /],
    ["two snippets_dir lines", upstream.replace(/^(snippets_dir.*\n)/m, "$1$1"), /^\/etc\/exim4\/Makefile: line 12: a second `snippets_dir`/],
    ["dir with a variable", upstream.replace("snippets_dir := sympl.d", "snippets_dir := $(HOME)"), /line 11: `snippets_dir` is not a plain directory name/],
    ["no find line", upstream.replace(/^snippets .*\n/m, ""), /no `snippets := \$\(shell find \.\.\.\)` line/],
    ["find without -type", upstream.replace(" -type f ", " "), /line 12: expected one `-type` argument in the find, found 0/],
    ["a second snippets line that appends", upstream.replace(/^(snippets .*\n)/m, "$1snippets += $(shell find $(CURDIR)/other.d -type f)\n"), /line 13: a second `snippets` assignment/],
    ["find not using snippets_dir", upstream.replace("$(CURDIR)/$(snippets_dir)", "$(CURDIR)/sympl.d"), /line 12: `snippets` is not a `\$\(shell find/],
  ])("refuses %s, naming the file and line", (_name, text, message) => {
    expect(() => readMakefile(PATH, text)).toThrowError(InputError);
    expect(() => readMakefile(PATH, text)).toThrowError(message);
    expect(() => deriveVariant(PATH, text, "local")).toThrowError(InputError);
  });
});

describe("deriveVariant", () => {
  it("rewrites exactly the snippets_dir value and the -type argument for local", () => {
    const local = deriveVariant(PATH, upstream, "local");
    const diff = changedLines(upstream, local);
    expect(diff).toHaveLength(2);
    expect(diff[0]![1]).toBe("snippets_dir := sympl-local.d");
    expect(diff[1]![1]).toContain(" -type f,l -regex ");
    expect(diff[1]![1].replace("-type f,l", "-type f")).toBe(diff[1]![0]);
  });

  it("gives the upstream text back for sympl, from upstream or from the local variant", () => {
    expect(deriveVariant(PATH, upstream, "sympl")).toBe(upstream);
    expect(deriveVariant(PATH, deriveVariant(PATH, upstream, "local"), "sympl")).toBe(upstream);
  });

  it("keeps spacing and trailing comments around the value", () => {
    const spaced = upstream.replace("snippets_dir := sympl.d", "snippets_dir   :=   sympl.d  # tree");
    expect(deriveVariant(PATH, spaced, "local")).toContain("snippets_dir   :=   sympl-local.d  # tree");
  });
});
