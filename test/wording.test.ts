/**
 * What the admin reads, in the order and words that help: a dry run is a
 * summary unless --verbose asks for every step (--json keeps the whole
 * plan), the `make` still to run comes after the list of changes, `sync --make` with nothing to
 * sync says what it did in one line, `diff --base` after a conflict shows
 * the base the merge used, a server without Sympl is called that (by
 * `status` and `doctor`), and the `changes` table has headers.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { changes, install } from "../src/changes/commands.js";
import { doctor } from "../src/doctor/command.js";
import { status } from "../src/makefilecheck/status.js";
import { diff, sync } from "../src/sync/commands.js";
import { appPaths } from "../src/server-layout.js";
import { main } from "../src/cli.js";
import { hashTree, inRoot, makeRoot, UPSTREAM_TREES, upgradeUpstream, writeSymplTree } from "./fixtures/sympl.js";
import { captureOutput } from "./support/capture.js";
import { testContext } from "./support/context.js";
import { jsonDocument } from "./support/json-schema.js";

let out: string[];
captureOutput((o) => (out = o));

let root = "";
beforeEach(() => {
  root = makeRoot();
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("a dry run that can be read", () => {
  /** The lines `install --dry-run` prints with these extra options; the tree is left as it was. */
  async function dryInstall(...extra: string[]): Promise<string[]> {
    writeSymplTree(root);
    const before = hashTree(root);
    out.length = 0;
    expect(await main(["install", "--dry-run", "--root", root, ...extra])).toBe(0);
    expect(hashTree(root)).toBe(before);
    return out.join("").split("\n");
  }

  it("the first install --dry-run is a summary: counts first, the copy of sympl.d and each baseline one line each", async () => {
    const lines = await dryInstall();
    expect(lines[0]).toMatch(/^dry run: \d+ steps: \d+ files written, 3 links, \d+ directories, the baseline of exim4 and dovecot \(--verbose lists each step\)$/);
    expect(lines.filter((l) => l.includes("/objects/"))).toEqual([]);
    expect(lines.filter((l) => l.startsWith("  baseline /var/lib/makefilecheck/baseline/"))).toHaveLength(2);
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}write {3}\d+ files, \d+ directories in \/etc\/exim4\/sympl-local\.d \(copy of sympl\.d\)$/));
    // What the changes write is still named file by file.
    expect(lines).toContain("  write   /etc/exim4/sympl-local.d/00-main/25-logging (email change ch3)");
    const stepLines = lines.slice(1).filter((l) => l.startsWith("  "));
    expect(stepLines.length).toBeLessThan(40);
  });

  it("--verbose (a global option, anywhere on the line) lists every step, baseline objects included", async () => {
    const lines = await dryInstall("--verbose");
    expect(lines[0]).toBe("dry run: would do these steps:");
    const objects = lines.filter((l) => /^ {2}write {3}\/var\/lib\/makefilecheck\/baseline\/exim4\/objects\/[0-9a-f]{64} /.test(l));
    expect(objects.length).toBeGreaterThan(20);
    out.length = 0;
    expect(await main(["--verbose", "install", "--root", root, "--dry-run"])).toBe(0);
    expect(out.join("").split("\n")).toEqual(lines);
  });

  it("--json keeps the whole plan, whatever the summary shows", async () => {
    const steps = (await dryInstall("--verbose")).filter((l) => /^ {2}\S/.test(l) && !/^ {2}(exim4|dovecot):/.test(l));
    out.length = 0;
    expect(await main(["install", "--dry-run", "--json", "--root", root])).toBe(0);
    const plan = jsonDocument(out.join("")).plan as Array<{ op: string; path?: string }>;
    expect(plan.length).toBe(steps.length);
    expect(plan.filter((op) => op.path?.includes("/baseline/exim4/objects/")).length).toBeGreaterThan(20);
  });
});

describe("install: what is left to do comes last", () => {
  it("the `make` to run follows the list of changes, in the result's lines, not as an earlier note", async () => {
    writeSymplTree(root);
    const ctx = testContext(root, { dryRun: true });
    const result = await install(ctx, { _: ["install"], set: [] });
    const hints = ["exim4: run `cd /etc/exim4 && make` to build the config and restart exim4", "dovecot: run `cd /etc/dovecot && make` to build the config and restart dovecot"];
    expect(result.lines.slice(-2)).toEqual(hints);
    expect(result.lines.findIndex((l) => l.includes(" ch14 "))).toBeLessThan(result.lines.length - 2);
    expect(ctx.notes.filter((n) => n.includes("make"))).toEqual([]);
    expect(result.apps.map((a) => a.notes)).toEqual([[hints[0]], [hints[1]]]);
  });
});

describe("sync --make with nothing to sync", () => {
  it("says in one line that there was nothing to sync and that the stale config was rebuilt", async () => {
    writeSymplTree(root, { apps: ["exim4"] });
    await install(testContext(root, { apps: ["exim4"] }), { _: ["install"], set: [] });
    const result = await sync(testContext(root, { apps: ["exim4"] }), { _: ["sync"], make: true });
    expect(result.lines).toEqual(["exim4: nothing to sync; /etc/exim4/exim4.conf was missing: rebuilt from /etc/exim4/sympl-local.d"]);
    const again = await sync(testContext(root, { apps: ["exim4"] }), { _: ["sync"], make: true });
    expect(again.lines).toEqual(["exim4: nothing to do"]);
  });
});

describe("diff --base after a conflict", () => {
  it("shows the base the merge used while the conflict waits, not `has not changed`; the baseline again once it is settled", async () => {
    writeSymplTree(root, { apps: ["exim4"] });
    await install(testContext(root, { apps: ["exim4"] }), { _: ["install"], set: [] });
    const rel = Object.keys(UPSTREAM_TREES.exim4)[1]!;
    const base = UPSTREAM_TREES.exim4[rel]!;
    // Both sides add a line at the same place: a conflict, and a tree exim still accepts.
    writeFileSync(inRoot(root, `${appPaths("exim4").local}/${rel}`), `${base}# mine\n`);
    upgradeUpstream(root, "exim4", { modify: { [rel]: `${base}# theirs\n` } });
    const synced = await sync(testContext(root, { apps: ["exim4"] }), { _: ["sync"] });
    expect(synced.lines.join("\n")).toContain(`CONFLICT    ${rel}`);

    const shown = await diff(testContext(root, { apps: ["exim4"] }), { _: ["diff"], path: rel, base: true });
    expect(shown.lines).toContain(`--- merge-base/${rel}`);
    expect(shown.lines).toContain(`+++ sympl.d/${rel}`);
    expect(shown.lines).toContain("+# theirs");
    const all = await diff(testContext(root, { apps: ["exim4"] }), { _: ["diff"], base: true });
    expect(all.lines).toContain(`--- merge-base/${rel}`);

    await sync(testContext(root, { apps: ["exim4"] }), { _: ["sync"], "keep-local": [rel] });
    const settled = await diff(testContext(root, { apps: ["exim4"] }), { _: ["diff"], base: true });
    expect(settled.lines).toEqual(["sympl.d has not changed since the baseline"]);
  });
});

describe("a server without Sympl", () => {
  beforeEach(() => {
    // Debian's own exim4 and dovecot: their /etc directories, no Sympl tree.
    mkdirSync(inRoot(root, "/etc/exim4/conf.d"), { recursive: true });
    writeFileSync(inRoot(root, "/etc/exim4/update-exim4.conf.conf"), "dc_eximconfig_configtype='local'\n");
    mkdirSync(inRoot(root, "/etc/dovecot/conf.d"), { recursive: true });
  });

  it("status says there is no Sympl tree here, naming sympl.d, rather than asking to reinstall a package", async () => {
    const result = await status(testContext(root), { _: ["status"] });
    expect(result.code).toBe(3);
    expect(result.lines).toContain("  problem: no Sympl tree here (/etc/exim4/sympl.d missing) — makefilecheck keeps Sympl's snippet trees: install Sympl first, or give --root DIR for a copy of a Sympl server's files");
    expect(result.lines.join("\n")).not.toContain("reinstall");
  });

  it("status still asks for the package when a Sympl setup lost its sympl.d", async () => {
    mkdirSync(inRoot(root, "/etc/exim4/sympl-local.d"));
    const result = await status(testContext(root, { apps: ["exim4"] }), { _: ["status"] });
    expect(result.lines).toContain("  problem: /etc/exim4/sympl.d: missing — reinstall the Sympl package that ships it");
  });

  it("doctor does not call an installed exim4 or dovecot `not installed`: it says Sympl is what is missing", async () => {
    const result = await doctor(testContext(root), { _: ["doctor"] });
    expect(result.lines).toContain("exim4: no Sympl tree here (/etc/exim4/sympl.d missing): nothing of makefilecheck's to check");
    expect(result.lines).toContain("dovecot: no Sympl tree here (/etc/dovecot/sympl.d missing): nothing of makefilecheck's to check");
    expect(result.lines.join("\n")).not.toContain("not installed");
    expect(result.apps.find((a) => a.app === "exim4")).toMatchObject({ installed: true, sympl: false });
  });

  it("doctor says `not installed` where the app's /etc directory is missing", async () => {
    rmSync(inRoot(root, "/etc/dovecot"), { recursive: true });
    const result = await doctor(testContext(root), { _: ["doctor"] });
    expect(result.lines).toContain("dovecot: not installed here");
  });
});

describe("changes", () => {
  it("heads each app's table with the names of its columns, lined up with the rows", async () => {
    writeSymplTree(root, { apps: ["exim4"] });
    const result = await changes(testContext(root, { apps: ["exim4"] }), { _: ["changes"] });
    const [header, first] = [result.lines[1]!, result.lines[2]!];
    expect(header.trim().split(/\s{2,}/)).toEqual(["ID", "STATE", "IN FORCE", "WHAT IT DOES", "SETTINGS"]);
    expect(first).toMatch(/^ {2}ch3 /);
    for (const column of ["STATE", "IN FORCE", "WHAT IT DOES", "SETTINGS"]) {
      expect(first[header.indexOf(column) - 1]).toBe(" ");
      expect(first[header.indexOf(column)]).not.toBe(" ");
    }
  });
});
