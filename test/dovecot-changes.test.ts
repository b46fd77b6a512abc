/**
 * Proof with the real dovecot of ch1 (auth_verbose) and ch2 (extra IMAP
 * listeners): the built local tree passes `dovecot -a`, and `doveconf -n`
 * on it shows the settings, next to the standard listeners.
 */
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { buildProofTree, type ProofSettings } from "./support/changes-tree.js";
import { BINARIES, missingBinaries } from "./support/daemons.js";
import { daemonAccepts } from "./fixtures/sympl.js";

const skip = missingBinaries("dovecot", "doveconf");

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** The local tree built with `settings`, as `doveconf -n` reports it, and dovecot's verdict. */
async function build(settings: ProofSettings): Promise<{ accepted: boolean; output: string; effective: string }> {
  const tree = await buildProofTree(settings);
  roots.push(tree.root);
  const verdict = daemonAccepts(tree.root, "dovecot", "sympl-local.d");
  const shown = spawnSync(BINARIES.doveconf, ["-n", "-c", tree.conf.dovecot], { encoding: "utf8" });
  return { accepted: verdict.ok, output: verdict.output, effective: shown.stdout };
}

/** `inet_listener NAME { port = N ... }` blocks inside `service imap-login`, as name → port. */
function imapLoginListeners(effective: string): Record<string, string> {
  const service = /^service imap-login \{\n([\s\S]*?)^\}/m.exec(effective)?.[1] ?? "";
  return Object.fromEntries([...service.matchAll(/inet_listener (\S+) \{\s*port = (\d+)/g)].map((m) => [m[1]!, m[2]!]));
}

describe.skipIf(skip)("dovecot changes", () => {
  it("ch1 and ch2: dovecot accepts the tree, logs failed logins and listens on the extra ports too", async () => {
    const built = await build({ imapPort: 2143, imapsPort: 2993 });
    expect(built.accepted, built.output).toBe(true);
    expect(built.effective).toMatch(/^auth_verbose = yes$/m);
    const listeners = imapLoginListeners(built.effective);
    expect(Object.values(listeners).sort()).toEqual(["143", "2143", "2993", "993"]);
    expect(built.effective).toMatch(/inet_listener imaps_extra \{\s*port = 2993\s*ssl = yes/);
  });

  it("without ch1 and ch2 only the standard listeners exist and auth_verbose stays off", async () => {
    const built = await build({ without: ["ch1", "ch2"] });
    expect(built.accepted, built.output).toBe(true);
    expect(built.effective).not.toMatch(/^auth_verbose = yes$/m);
    expect(Object.values(imapLoginListeners(built.effective)).sort()).toEqual(["143", "993"]);
  });
});
