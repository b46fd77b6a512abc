/**
 * sync on trees where install put the changes in and made sympl-local.d
 * live: an upgrade whose hunks sit on and beside our edits is taken and
 * the edits re-applied (never a conflict, never a `.sympl-new`); a flag
 * upstream adds to log_selector moves into 25-logging and is reported;
 * only the admin's own edits conflict; and a tree the daemon would reject
 * is never written, --take-upstream included.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { CommandResult } from "../src/context.js";
import { install } from "../src/changes/commands.js";
import { drift, sync } from "../src/sync/commands.js";
import { EXIM4_UPGRADE_BESIDE_EDITS, assembleConfig, daemonAccepts, hashTree, inRoot, upgradeUpstream, writeSymplTree } from "./fixtures/sympl.js";
import { testContext } from "./support/context.js";
import { missingBinaries } from "./support/daemons.js";
import { withTempRoot } from "./support/temp-root.js";

let root: string;
withTempRoot((r) => (root = r));

const LOCAL = "/etc/exim4/sympl-local.d";
const TLS = "00-main/50-tls-options";
const GENERAL = "00-main/60-general-options";
const read = (rel: string, tree = LOCAL) => readFileSync(inRoot(root, `${tree}/${rel}`), "utf8");
const OURS = "+smtp_protocol_error +incoming_interface +smtp_mailauth";

/** A Sympl tree (older release or today's) with every default change installed and live. */
async function installed(older = false): Promise<void> {
  writeSymplTree(root, { apps: ["exim4"], older });
  const result = await install(testContext(root, { apps: ["exim4"] }), { _: [], set: ["AUTO_CH6_DATABASE=sympl"] });
  expect(result.code, result.lines.join("\n")).toBe(0);
}

async function runSync(args: Record<string, unknown> = {}): Promise<CommandResult> {
  return sync(testContext(root, { apps: ["exim4"] }), { _: [], ...args });
}

function activeLogSelectors(): string[] {
  return assembleConfig(root, "exim4", "sympl-local.d").split("\n").filter((l) => /^\s*log_selector\s*=/.test(l));
}

const managedHash = () => hashTree(inRoot(root, "/etc")) + hashTree(inRoot(root, "/var/lib/makefilecheck/baseline"));

describe.skipIf(missingBinaries("exim4"))("sync re-derives our edits", () => {
  it("takes an upgrade on and beside the edited lines, re-applies the edits and carries the new flag", async () => {
    await installed();
    upgradeUpstream(root, "exim4", { modify: EXIM4_UPGRADE_BESIDE_EDITS });
    const result = await runSync();
    expect(result.code, result.lines.join("\n")).toBe(0);
    const entries = result.apps[0]?.entries as Array<{ path: string; action: string; note?: string }>;
    expect(entries.map((e) => `${e.path} ${e.action}`).sort()).toEqual(["00-main/25-logging rederived", `${TLS} rederived`, `${GENERAL} rederived`]);
    expect(entries.find((e) => e.path === "00-main/25-logging")?.note).toContain("+tls_cipher");
    expect(result.lines.join("\n")).toMatch(/25-logging — log_selector now carries upstream's \+tls_cipher/);
    expect(read(TLS)).toContain("# log_selector = +tls_sni +tls_cipher\n");
    expect(read(GENERAL)).toContain("# rfc1413_hosts =\n# At most this many SMTP connections at once.\nsmtp_accept_max = 100\n# rfc1413_query_timeout = 5s\n");
    expect(activeLogSelectors()).toEqual([`log_selector = +tls_sni +tls_cipher ${OURS}`]);
    expect(existsSync(inRoot(root, `${LOCAL}/${TLS}.sympl-new`))).toBe(false);
    expect(existsSync(inRoot(root, `${LOCAL}/${GENERAL}.sympl-new`))).toBe(false);
    expect(result.apps[0]?.configTest).toMatchObject({ status: "passed" });
    expect(daemonAccepts(root, "exim4", "sympl-local.d").ok).toBe(true);
    expect((await runSync()).lines).toEqual(["exim4: nothing to do"]);
  });

  it("comments out a log_selector an upgrade adds to an older tree that had none", async () => {
    await installed(true);
    expect(activeLogSelectors()).toEqual([`log_selector = ${OURS}`]);
    const older = read(TLS, "/etc/exim4/sympl.d");
    upgradeUpstream(root, "exim4", { modify: { [TLS]: `${older}log_selector = +tls_sni\n` } });
    const result = await runSync();
    expect(result.code, result.lines.join("\n")).toBe(0);
    expect(read(TLS)).toBe(`${older}# log_selector = +tls_sni\n`);
    expect(activeLogSelectors()).toEqual([`log_selector = +tls_sni ${OURS}`]);
  });

  it("says when upstream's negation of one of our flags is left out", async () => {
    await installed();
    upgradeUpstream(root, "exim4", { modify: { [TLS]: read(TLS, "/etc/exim4/sympl.d").replace("+tls_sni", "+tls_sni -incoming_interface") } });
    const result = await runSync();
    expect(result.code).toBe(0);
    expect(result.lines.join("\n")).toMatch(/50-tls-options — upstream's -incoming_interface left out of 00-main\/25-logging \(ours win\)/);
    expect(activeLogSelectors()).toEqual([`log_selector = +tls_sni ${OURS}`]);
  });

  it("still conflicts over the admin's own edit next to upstream's change", async () => {
    await installed();
    const mine = read(TLS).replace("# log_selector = +tls_sni\n", "# log_selector = +tls_sni\ntls_require_ciphers = NORMAL\n");
    writeFileSync(inRoot(root, `${LOCAL}/${TLS}`), mine);
    upgradeUpstream(root, "exim4", { modify: { [TLS]: EXIM4_UPGRADE_BESIDE_EDITS[TLS] ?? "" } });
    const result = await runSync();
    expect(result.code).toBe(1);
    expect(read(TLS)).toBe(mine);
    expect(existsSync(inRoot(root, `${LOCAL}/${TLS}.sympl-new`))).toBe(true);
  });
});

describe.skipIf(missingBinaries("exim4"))("sync tests the live tree before it writes", () => {
  it("writes nothing when exim would reject the merged tree, shows why, and leaves the change pending", async () => {
    await installed();
    const broken = `${read("00-main/10-general", "/etc/exim4/sympl.d")}no_such_exim_option = 1\n`;
    upgradeUpstream(root, "exim4", { modify: { "00-main/10-general": broken } });
    const before = managedHash();
    const result = await runSync();
    expect(result.code).toBe(1);
    expect(managedHash()).toBe(before);
    const said = result.lines.join("\n");
    expect(said).toContain("nothing was written");
    expect(said).toContain("no_such_exim_option");
    expect(result.apps[0]?.configTest).toMatchObject({ status: "failed" });
    const pending = await drift(testContext(root, { apps: ["exim4"] }), { _: [] });
    expect(pending.apps[0]?.entries).toContainEqual({ path: "00-main/10-general", state: "upstream-modified" });
  });

  it("refuses --take-upstream the same way", async () => {
    await installed();
    const general = "00-main/10-general";
    writeFileSync(inRoot(root, `${LOCAL}/${general}`), `${read(general)}# the admin's note\n`);
    const broken = `no_such_exim_option = 1\n${read(general, "/etc/exim4/sympl.d")}`;
    upgradeUpstream(root, "exim4", { modify: { [general]: broken } });
    // The line merge is clean as text, and exim refuses it: nothing written.
    const merged = await runSync();
    expect(merged.code, merged.lines.join("\n")).toBe(1);
    expect(merged.lines.join("\n")).toContain("nothing was written");
    expect(read(general)).toContain("# the admin's note");
    const before = managedHash();
    const taken = await runSync({ "take-upstream": [general] });
    expect(taken.code).toBe(1);
    expect(taken.lines.join("\n")).toContain("nothing was written");
    expect(managedHash()).toBe(before);
  });
});
