/**
 * A dovecot from 2.4 (Debian trixie) refuses Sympl's 2.3-era tree, so the
 * dovecot changes cannot go in: `changes` shows them waiting with that
 * reason, `install` installs exim's and holds dovecot's without a fault,
 * `status` names no step for dovecot and exits 0 once exim's changes are in
 * force, `doctor` says it in plain words. The release is dpkg's record of
 * dovecot-core, written here into the root; .ci/trixie runs the real 2.4.
 */
import { describe, expect, it } from "vitest";
import { changes, install } from "../src/changes/commands.js";
import { doctor } from "../src/doctor/command.js";
import { status } from "../src/makefilecheck/status.js";
import { mkdirSync, writeFileSync } from "node:fs";
import { caninstallTree } from "./support/makefilecheck-trees.js";
import { missingBinaries } from "./support/daemons.js";
import { testContext } from "./support/context.js";
import { withTempRoot } from "./support/temp-root.js";
import { inRoot, writeSymplTree } from "./fixtures/sympl.js";
import type { App } from "../src/server-layout.js";

let root = "";
withTempRoot((r) => (root = r));

/** Puts dpkg's record of dovecot-core `version` (among other packages) into the root, as apt leaves it. */
function dpkgRecords(version: string): void {
  mkdirSync(inRoot(root, "/var/lib/dpkg"), { recursive: true });
  const paragraph = (pkg: string, v: string, status = "install ok installed") => `Package: ${pkg}\nStatus: ${status}\nPriority: optional\nArchitecture: amd64\nVersion: ${v}\nDescription: ${pkg}\n`;
  writeFileSync(
    inRoot(root, "/var/lib/dpkg/status"),
    [paragraph("dovecot-lmtpd", "1:2.2.0-1", "deinstall ok config-files"), paragraph("dovecot-core", version), paragraph("exim4-base", "4.98.2-1")].join("\n"),
  );
}

function ctxWith(version: string, apps?: App[]) {
  dpkgRecords(version);
  return testContext(root, apps ? { apps } : {});
}

const PORTS = { set: ["AUTO_IMAP_PORT=1143", "AUTO_IMAPS_PORT=1993"] };
const REASON = "Sympl's dovecot tree (/etc/dovecot/sympl.d) is written for dovecot 2.3, and this server runs dovecot 2.4.1, which refuses it; the dovecot changes wait for a Sympl release for dovecot 2.4";

describe.skipIf(missingBinaries("exim4", "dovecot", "make"))("dovecot 2.4 with Sympl's 2.3-era tree", () => {
  it("changes shows every dovecot change waiting, with the reason; exim's are unaffected", async () => {
    writeSymplTree(root);
    const result = await changes(ctxWith("1:2.4.1+dfsg1-4"), { _: [] });
    const dovecot = result.apps.find((a) => a.app === "dovecot")!.changes as Array<{ state: string; waiting?: string }>;
    expect(dovecot.map((c) => c.state)).toEqual(["waiting", "waiting"]);
    expect(dovecot.every((c) => c.waiting === REASON)).toBe(true);
    expect(result.lines).toContain(`        waiting: ${REASON}`);
    // install leaves dovecot alone here, so the heading suggests no install for it.
    expect(result.lines).toContain("dovecot:");
    const exim = result.apps.find((a) => a.app === "exim4")!.changes as Array<{ waiting?: string }>;
    expect(exim.filter((c) => c.waiting === REASON)).toHaveLength(0);
  });

  it("install puts exim's changes in force and holds dovecot's, exit 0; status then exits 0 and names no step for dovecot; a second install exits 0", async () => {
    writeSymplTree(root);
    const done = await install(ctxWith("1:2.4.1+dfsg1-4"), { _: [], ...PORTS, check: true, make: true });
    expect(done.code).toBe(0);
    expect(done.lines).toContain(`dovecot: nothing installed — ${REASON}`);
    expect(done.apps.find((a) => a.app === "exim4")!.held).toBeUndefined();
    const st = await status(ctxWith("1:2.4.1+dfsg1-4"), { _: [] });
    expect(st.code, st.lines.join("\n")).toBe(0);
    expect(st.lines).toContain(`  not installable here: ${REASON}`);
    const dovecotNext = st.apps.find((a) => a.app === "dovecot")!.next;
    expect(dovecotNext).toBeNull();
    expect(st.apps.find((a) => a.app === "exim4")!.profile).toBe("local");
    expect(st.apps.find((a) => a.app === "dovecot")!.profile).toBe("vanilla");
    expect(st.lines.join("\n")).not.toContain("makefilecheck install");
    const again = await install(ctxWith("1:2.4.1+dfsg1-4"), { _: [], ...PORTS, check: true, make: true });
    expect(again.code).toBe(0);
  });

  it("doctor says it in plain words, with no command of ours to run", async () => {
    caninstallTree(root, ["dovecot"]);
    const result = await doctor(ctxWith("1:2.4.1+dfsg1-4", ["dovecot"]), { _: [] });
    const checks = result.apps.find((a) => a.app === "dovecot")!.checks as Array<{ id: string; status: string; message: string; fix: string }>;
    const test = checks.find((c) => c.id === "config-test")!;
    expect(test).toMatchObject({ status: "warn", message: REASON });
    expect(test.fix).not.toMatch(/`makefilecheck|cd \//);
  });

  it("dovecot 2.3 (this machine's) is no misfit: install puts the dovecot changes in", async () => {
    caninstallTree(root);
    const done = await install(ctxWith("1:2.3.19.1+dfsg1-2.1+deb12u7"), { _: [], ...PORTS, check: true, make: false });
    expect(done.lines.join("\n")).not.toContain("nothing installed");
    expect(done.apps.find((a) => a.app === "dovecot")!.held).toBeUndefined();
  });
});
