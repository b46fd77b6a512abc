// The architecture's boundaries (docs/architecture.md), checked over the
// source: only src/system reaches the disk or runs programs, only the
// renderer prints, nothing imports the entry point, the folders' imports
// form a DAG, and the notes name every folder.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../src", import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const files = sources(SRC).map((path) => ({ rel: relative(SRC, path), text: readFileSync(path, "utf8") }));

/** Every module of ours `text` (at `rel`) imports, as a path under src/: static, dynamic, type-only and re-exports alike. */
function importsOf(rel: string, text: string): string[] {
  const spec = /\bfrom\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)|^\s*import\s*["']([^"']+)["']/gm;
  return [...text.matchAll(spec)]
    .map((m) => m[1] ?? m[2] ?? m[3] ?? "")
    .filter((s) => s.startsWith("."))
    .map((s) => relative(SRC, resolve(SRC, dirname(rel), s)).replace(/\.js$/, ".ts"));
}

/** A file's unit in the graph: its top folder under src/, or the file itself when it sits at the top. */
function unitOf(rel: string): string {
  const slash = rel.indexOf("/");
  return slash < 0 ? rel : `${rel.slice(0, slash)}/`;
}

/** The unit graph: for each unit, the other units it imports, with one file-level import that shows each edge. */
function unitGraph(modules: Array<{ rel: string; text: string }>): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const { rel, text } of modules) {
    const from = unitOf(rel);
    const out = graph.get(from) ?? new Map<string, string>();
    graph.set(from, out);
    for (const target of importsOf(rel, text)) {
      const to = unitOf(target);
      if (to !== from && !out.has(to)) out.set(to, `${rel} -> ${target}`);
    }
  }
  return graph;
}

/** Each cycle between units, as the file-level imports that close it (empty when the graph is a DAG). */
function cycles(graph: Map<string, Map<string, string>>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (unit: string): void => {
    const at = path.indexOf(unit);
    if (at >= 0) {
      const loop = [...path.slice(at), unit];
      found.push(loop.slice(1).map((to, i) => graph.get(loop[i] ?? "")?.get(to) ?? `${loop[i]} -> ${to}`));
      return;
    }
    if (done.has(unit)) return;
    path.push(unit);
    for (const to of graph.get(unit)?.keys() ?? []) visit(to);
    path.pop();
    done.add(unit);
  };
  for (const unit of [...graph.keys()].sort()) visit(unit);
  return found;
}

describe("source boundaries", () => {
  it("keeps disk and process access inside src/system", () => {
    const reach = /from\s+["'](node:)?(fs|fs\/promises|child_process)["']|from\s+["'](fs-extra|execa|proper-lockfile|chokidar)["']|import\(["'](node:)?(fs|child_process)["']\)|import\(["'](execa|chokidar|proper-lockfile)["']\)/;
    const offenders = files.filter((f) => !f.rel.startsWith("system/") && reach.test(f.text)).map((f) => f.rel);
    expect(offenders).toEqual([]);
  });

  it("prints only from the renderer", () => {
    const prints = /\bconsole\.|\bwriteSync\(\s*[12]\b|process\.(stdout|stderr)\b|\boutput\.(out|err)\(/;
    const offenders = files.filter((f) => f.rel !== "render.ts" && prints.test(f.text)).map((f) => f.rel);
    expect(offenders).toEqual([]);
  });

  it("keeps the sync planner pure: its modules import nothing of src/system, not even a type", () => {
    // planSync is given a scanned snapshot and no System (docs/architecture.md, sync), so it cannot read the disk.
    const planner = ["sync/plan-sync.ts", "sync/classify.ts", "sync/merge.ts", "sync/text.ts"];
    const offenders = files.filter((f) => planner.includes(f.rel)).flatMap((f) => importsOf(f.rel, f.text).filter((t) => t.startsWith("system/")).map((t) => `${f.rel} -> ${t}`));
    expect(files.filter((f) => planner.includes(f.rel))).toHaveLength(planner.length);
    expect(offenders).toEqual([]);
  });

  it("imports the entry point from nowhere", () => {
    const offenders = files.flatMap((f) => importsOf(f.rel, f.text).filter((t) => t === "cli.ts").map(() => f.rel));
    expect(offenders).toEqual([]);
  });

  it("has every folder of src/ described in docs/architecture.md", () => {
    const notes = readFileSync(fileURLToPath(new URL("../docs/architecture.md", import.meta.url)), "utf8");
    const folders = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => `src/${e.name}/`);
    expect(folders.filter((f) => !notes.includes(`\`${f}\``))).toEqual([]);
  });

  it("has no import cycle between folders (and top-level modules)", () => {
    expect(cycles(unitGraph(files))).toEqual([]);
  });

  it("sees a cycle and an import of the entry point when there is one", () => {
    // The checker itself, on made-up modules: a check that can find nothing proves nothing.
    const made = [
      { rel: "a/x.ts", text: 'import type { Y } from "../b/y.js";' },
      { rel: "b/y.ts", text: 'export { z } from "../c/z.js";' },
      { rel: "c/z.ts", text: 'const late = () => import("../a/x.js");\nimport {\n  main,\n} from "../cli.js";' },
    ];
    expect(cycles(unitGraph(made))).toEqual([["a/x.ts -> b/y.ts", "b/y.ts -> c/z.ts", "c/z.ts -> a/x.ts"]]);
    expect(importsOf("c/z.ts", made[2]?.text ?? "")).toEqual(["a/x.ts", "cli.ts"]);
  });
});
