/**
 * The real exim accepts the local tree with the changes in every shape
 * the settings can give it, and reads ch4's ident settings from it.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { buildProofTree, type ProofSettings } from "./support/changes-tree.js";
import { BINARIES, missingBinaries } from "./support/daemons.js";
import { daemonAccepts, inRoot } from "./fixtures/sympl.js";

const skip = missingBinaries("exim4");

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

async function tree(settings: ProofSettings): Promise<{ root: string; conf: string }> {
  const built = await buildProofTree(settings);
  roots.push(built.root);
  return { root: built.root, conf: built.conf.exim4 };
}

/** `exim4 -bP OPTION` on the config: the option as exim understood it. */
function option(conf: string, name: string): string {
  return spawnSync(BINARIES.exim4, ["-C", conf, "-bP", name], { encoding: "utf8" }).stdout.trim();
}

describe.skipIf(skip)("exim accepts the changes", () => {
  const shapes: [string, ProofSettings][] = [
    ["all changes, no key, no firewall", {}],
    ["a Spamhaus key", { spamhausKey: "AbC123" }],
    ["the nftfw database", { firewall: "nftfw" }],
    ["the Sympl database", { firewall: "sympl" }],
    ["no DNS blacklist at connect", { dnsblInConnect: "" }],
    ["only the connect-time changes", { without: ["ch3", "ch4", "ch8", "ch9", "ch10", "ch14"] }],
    ["only the RCPT-time changes", { without: ["ch5", "ch6", "ch7", "ch12", "ch13"] }],
  ];

  it.each(shapes)("with %s", async (_name, settings) => {
    const built = await tree(settings);
    const verdict = daemonAccepts(built.root, "exim4", "sympl-local.d");
    expect(verdict.ok, verdict.output).toBe(true);
  });
});

describe.skipIf(skip)("ch10: the key comes from the key file", () => {
  it("exim reads SPAMHAUS_DQ_KEY through 35-spamhaus-key's include of ETC_DIR/exim4/spamhaus-key", async () => {
    const { root, conf } = await tree({ spamhausKey: "AbC123" });
    const etc = `-DETC_DIR=${inRoot(root, "/etc")}`;
    const macro = spawnSync(BINARIES.exim4, ["-C", conf, etc, "-bP", "macro", "SPAMHAUS_DQ_KEY"], { encoding: "utf8" });
    expect(macro.stdout.trim()).toBe("SPAMHAUS_DQ_KEY=AbC123");
    expect(readFileSync(conf, "utf8")).not.toContain("AbC123");
  });
});

describe.skipIf(skip)("ch4: no ident callbacks", () => {
  it("sets a zero ident timeout for every host", async () => {
    const { conf } = await tree({});
    expect(option(conf, "rfc1413_hosts")).toBe("rfc1413_hosts = *");
    expect(option(conf, "rfc1413_query_timeout")).toBe("rfc1413_query_timeout = 0s");
  });

  it("without ch4 the upstream settings stay in force", async () => {
    const { conf } = await tree({ without: ["ch4"] });
    expect(option(conf, "rfc1413_query_timeout")).toBe("rfc1413_query_timeout = 5s");
  });
});
