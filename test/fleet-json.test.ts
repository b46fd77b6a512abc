/**
 * The JSON the fleet engines read (README, "The JSON documents"): every
 * writing command says whether it changed something, top level and per
 * app, and `--dry-run --json` gives each file's text before and after,
 * with the file holding the Spamhaus key masked. Through bin/makefilecheck
 * (needs `npm run build`, which `npm test` does first).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { hashTree, inRoot, writeSymplTree } from "./fixtures/sympl.js";
import { withTempRoot } from "./support/temp-root.js";
import { jsonDocument } from "./support/json-schema.js";

const BIN = fileURLToPath(new URL("../bin/makefilecheck", import.meta.url));
const KEY = "abcdefghijklmnopqrstuvwxyz";

let root = "";
withTempRoot((r) => {
  root = r;
  writeSymplTree(root);
});

/** Runs the tool with --json; the parsed document and the exit code. */
function json(...args: string[]): { code: number | null; doc: Record<string, any> } {
  const r = spawnSync(process.execPath, [BIN, "--root", root, "--json", ...args], { encoding: "utf8" });
  return { code: r.status, doc: jsonDocument(r.stdout) };
}

describe("changed", () => {
  it("is true on the run that changes, false on the next, top level and per app; a dry run predicts it", () => {
    const predicted = json("install", "--only", "ch1", "--dry-run");
    expect(predicted.doc.changed).toBe(true);
    expect(predicted.doc.apps.map((a: any) => [a.app, a.changed])).toEqual([["exim4", true], ["dovecot", true]]);
    const first = json("install", "--only", "ch1");
    expect(first.code).toBe(0);
    expect(first.doc.changed).toBe(true);
    expect(first.doc.apps.map((a: any) => [a.app, a.changed])).toEqual([["exim4", true], ["dovecot", true]]);
    const again = json("install", "--only", "ch1");
    expect(again.doc.changed).toBe(false);
    expect(again.doc.apps.map((a: any) => a.changed)).toEqual([false, false]);
    expect(json("install", "--only", "ch1", "--dry-run").doc.changed).toBe(false);
  });

  it("is per app: switching dovecot alone changes dovecot only", () => {
    json("install", "--only", "ch1");
    const r = json("use", "sympl", "-a", "dovecot");
    expect(r.doc.changed).toBe(true);
    expect(r.doc.apps.map((a: any) => [a.app, a.changed])).toEqual([["dovecot", true]]);
    expect(json("use", "local", "-a", "exim4").doc.apps.map((a: any) => [a.app, a.changed])).toEqual([["exim4", false]]);
  });
});

describe("the dry run's files", () => {
  it("gives before and after of each file it would write, and changes no byte", () => {
    json("install", "--only", "ch1");
    const before = hashTree(root);
    const r = json("use", "sympl", "-a", "dovecot", "--dry-run");
    expect(hashTree(root)).toBe(before);
    expect(r.doc.diff).toEqual([{ path: "/etc/dovecot/GNUmakefile", before: "symlink to Makefile.local\n", after: "symlink to Makefile.sympl\n" }]);
  });

  it("shows a new snippet's text, and the state directory not at all", () => {
    const r = json("install", "--only", "ch1", "-a", "dovecot", "--dry-run");
    const files = new Map<string, { before: string | null; after: string | null }>(r.doc.diff.map((f: any) => [f.path, f]));
    const added = files.get("/etc/dovecot/sympl-local.d/10-main/35-log-debug");
    expect(added?.before).toBeNull();
    expect(added?.after).toContain("auth_verbose = yes");
    expect(files.get("/etc/dovecot/Makefile.local")?.after).toBe(readFileSync(inRoot(root, "/etc/dovecot/Makefile"), "utf8").replace("snippets_dir := sympl.d", "snippets_dir := sympl-local.d").replace("-type f ", "-type f,l "));
    expect([...files.keys()].filter((p) => p.startsWith("/var/lib/makefilecheck"))).toEqual([]);
  });

  it("masks the file that holds the Spamhaus key, and the key is nowhere in the document", () => {
    const r = spawnSync(process.execPath, [BIN, "--root", root, "--json", "install", "--only", "ch10", "-a", "exim4", "--dry-run", "--set", `AUTO_SPAMHAUS_DB_KEY=${KEY}`], { encoding: "utf8" });
    const doc = jsonDocument(r.stdout);
    expect(doc.diff.find((f: any) => f.path === "/etc/exim4/spamhaus-key")).toEqual({ path: "/etc/exim4/spamhaus-key", before: null, after: "(masked)" });
    expect(r.stdout).not.toContain(KEY);
  });
});
