/**
 * drift, diff and sync through the CLI's `main` (parse, run, render): the
 * exact --json document, exit codes, and one-line errors on stderr.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../src/cli.js";
import { applyPlan } from "../src/plan.js";
import { planCreateLocalTree } from "../src/tree/clone.js";
import { RealSystem } from "../src/system/real.js";
import { output } from "../src/render.js";
import { hashTree, inRoot, makeRoot, upgradeUpstream, writeSymplTree } from "./fixtures/sympl.js";
import { jsonDocument } from "./support/json-schema.js";

let root: string;
let out: string[];
let err: string[];

beforeEach(() => {
  root = makeRoot();
  writeSymplTree(root);
  out = [];
  err = [];
  vi.spyOn(output, "out").mockImplementation((text) => void out.push(text));
  vi.spyOn(output, "err").mockImplementation((text) => void err.push(text));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(root, { recursive: true, force: true });
});

async function cli(...args: string[]): Promise<number> {
  return main([...args, "--root", root, "--no-color"]);
}

async function makeLocal(): Promise<void> {
  const sys = new RealSystem(root);
  for (const app of ["exim4", "dovecot"] as const) await applyPlan(sys, "test", planCreateLocalTree(sys, app, new Date()), () => new Date());
}

const GENERAL = "00-main/10-general";

describe("makefilecheck drift", () => {
  it("--json gives exactly the apps/entries document and exits 1 when a sync is due", async () => {
    await makeLocal();
    const file = inRoot(root, `/etc/exim4/sympl.d/${GENERAL}`);
    upgradeUpstream(root, "exim4", { modify: { [GENERAL]: `# newer\n${readFileSync(file, "utf8")}` } });
    writeFileSync(inRoot(root, "/etc/exim4/sympl-local.d/00-main/70-mine"), "# mine\n");
    const code = await cli("drift", "--json");
    expect(code).toBe(1);
    expect(jsonDocument(out.join(""))).toEqual({
      schema: "makefilecheck/drift/1",
      apps: [
        {
          app: "exim4",
          entries: [
            { path: GENERAL, state: "upstream-modified" },
            { path: "00-main/70-mine", state: "local-added" },
          ],
        },
        { app: "dovecot", entries: [{ path: "10-main/60-sni", state: "linked" }] },
      ],
    });
  });

  it("human output groups the paths and names the next command", async () => {
    await makeLocal();
    upgradeUpstream(root, "exim4", { add: { "00-main/15-new": "# new\n" } });
    expect(await cli("drift", "-a", "exim4")).toBe(1);
    const text = out.join("");
    expect(text).toContain("run `makefilecheck sync`");
    expect(text).toContain("    A  00-main/15-new");
  });

  it("without sympl-local.d: one line on stderr, exit 3 (a missing tree)", async () => {
    expect(await cli("drift")).toBe(3);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^makefilecheck: \/etc\/exim4\/sympl-local\.d: missing — run `makefilecheck install`/);
  });
});

describe("makefilecheck sync", () => {
  it("--dry-run prints the steps and changes nothing; the real run then does them", async () => {
    await makeLocal();
    upgradeUpstream(root, "exim4", { remove: ["40-retry/10-default"] });
    const before = hashTree(root);
    expect(await cli("sync", "--dry-run", "-a", "exim4")).toBe(0);
    expect(out.join("")).toMatch(/^dry run: \d+ steps: .*\n.*\n\s+remove\s+\/etc\/exim4\/sympl-local\.d\/40-retry\/10-default \(retired upstream\)/s);
    expect(hashTree(root)).toBe(before);
    out.length = 0;
    expect(await cli("sync", "-a", "exim4")).toBe(0);
    expect(out.join("")).toMatch(/removed\s+40-retry\/10-default/);
    expect(hashTree(root)).not.toBe(before);
  });

  it("--dry-run right after a sync: nothing to do, in words and in --json (a cache refresh is not the admin's business)", async () => {
    await makeLocal();
    expect(await cli("sync", "-a", "exim4")).toBe(0);
    out.length = 0;
    expect(await cli("sync", "--dry-run", "-a", "exim4")).toBe(0);
    expect(out.join("")).toMatch(/^dry run: nothing to do\n/);
    out.length = 0;
    expect(await cli("sync", "--dry-run", "--json", "-a", "exim4")).toBe(0);
    expect(jsonDocument(out.join("")).plan).toEqual([]);
  });

  it("a diff of one path uses the tree labels", async () => {
    await makeLocal();
    writeFileSync(inRoot(root, `/etc/exim4/sympl-local.d/${GENERAL}`), "# replaced\n");
    expect(await cli("diff", GENERAL)).toBe(0);
    expect(out.join("")).toContain(`--- sympl.d/${GENERAL}\n+++ sympl-local.d/${GENERAL}\n`);
  });
});
