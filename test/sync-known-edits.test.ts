/**
 * The seam between sync and the change catalogue: a local file that is
 * upstream plus a known in-place edit (ch4 comments out the two ident
 * lines of 00-main/60-general-options) is recognised in an adopted legacy
 * tree, and re-derived on a newer upstream where a line merge would fail.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { drift, sync } from "../src/sync/commands.js";
import { daemonAccepts, inRoot, makeRoot, setupLegacy, upgradeUpstream } from "./fixtures/sympl.js";
import { missingBinaries } from "./support/daemons.js";
import { testContext } from "./support/context.js";

const PATH = "00-main/60-general-options";
let root: string;
const local = () => inRoot(root, `/etc/exim4/sympl-local.d/${PATH}`);
const upstream = () => inRoot(root, `/etc/exim4/sympl.d/${PATH}`);
const ctx = () => testContext(root, { apps: ["exim4"] });
const withCh4 = (text: string) => text.replace("\nrfc1413_hosts =\n", "\n# rfc1413_hosts =\n").replace("\nrfc1413_query_timeout = 5s\n", "\n# rfc1413_query_timeout = 5s\n");

beforeEach(() => {
  root = makeRoot();
  setupLegacy(root, "exim4");
  // The old installer commented the ident lines out in place.
  writeFileSync(local(), withCh4(readFileSync(local(), "utf8")));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("known edits in an adopted tree", () => {
  it("are local changes, not divergence", async () => {
    expect(readFileSync(local(), "utf8")).toContain("# rfc1413_hosts =");
    const result = await drift(ctx(), { _: [] });
    expect(result.apps[0]?.entries).toEqual([{ path: PATH, state: "local-modified" }]);
    expect(result.code).toBe(0);
    expect((await sync(ctx(), { _: [] })).code).toBe(0);
  });

  it("are re-derived on a newer upstream whose change touches the neighbouring line", async () => {
    await sync(ctx(), { _: [] });
    const old = readFileSync(upstream(), "utf8");
    const next = old.replace(/^# Do not make ident.*$/m, "# Ident (RFC 1413) callbacks only slow every connection down.");
    expect(next).not.toBe(old);
    upgradeUpstream(root, "exim4", { modify: { [PATH]: next } });
    const result = await sync(ctx(), { _: [] });
    expect(result.apps[0]?.entries).toEqual([{ path: PATH, state: "conflict", action: "rederived" }]);
    expect(readFileSync(local(), "utf8")).toBe(withCh4(next));
    expect(result.code).toBe(0);
    const reason = missingBinaries("exim4");
    if (!reason) expect(daemonAccepts(root, "exim4", "sympl-local.d").ok).toBe(true);
  });
});
