// The architecture's two boundaries, checked over the source: only
// src/system reaches the disk or runs programs, and only the renderer prints.
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "..", "src");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const files = sources(SRC).map((path) => ({ rel: relative(SRC, path), text: readFileSync(path, "utf8") }));

describe("source boundaries", () => {
  it("keeps disk and process access inside src/system", () => {
    const reach = /from\s+["'](node:)?(fs|fs\/promises|child_process)["']|from\s+["'](fs-extra|execa|proper-lockfile|chokidar)["']|import\(["'](node:)?(fs|child_process)["']\)|import\(["'](execa|chokidar|proper-lockfile)["']\)/;
    const offenders = files.filter((f) => !f.rel.startsWith("system/") && reach.test(f.text)).map((f) => f.rel);
    expect(offenders).toEqual([]);
  });

  it("prints only from the renderer", () => {
    const prints = /\bconsole\.|process\.(stdout|stderr)\.write/;
    const offenders = files.filter((f) => f.rel !== "render.ts" && prints.test(f.text)).map((f) => f.rel);
    expect(offenders).toEqual([]);
  });
});
