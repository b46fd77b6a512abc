/**
 * doctor's resolver and blacklist checks against a real resolver: the CLI
 * runs inside a private namespace whose /etc/resolv.conf names a dnsmasq
 * on 127.0.0.1 (support/namespace.ts) that answers the test points with
 * listing codes, with Spamhaus's error codes, or not at all. Needs
 * `npm run build` (npm test does it first).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { dnsUse } from "../src/doctor/dns.js";
import { buildProofTree, type ProofSettings } from "./support/changes-tree.js";
import { missingBinaries } from "./support/daemons.js";
import { cannotRunSessions } from "./support/exim-session.js";
import { resolverDown, resolverUp, runInNamespace, sh } from "./support/namespace.js";
import type { DnsRecords } from "./support/resolver.js";
import { jsonDocument } from "./support/json-schema.js";

const BIN = fileURLToPath(new URL("../bin/makefilecheck", import.meta.url));
const KEY = "abc123key";

const skip = missingBinaries("dnsmasq", "unshare", "exim4") ?? cannotRunSessions();

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface Check {
  id: string;
  status: string;
  message: string;
  fix?: string;
}

interface Run {
  code: number;
  stdout: string;
  checks: Map<string, Check>;
}

/** Installs the changes with `settings`, then runs `doctor --json -a exim4` in a namespace whose resolver serves `dns`. */
async function doctorWith(settings: ProofSettings, dns: DnsRecords): Promise<Run> {
  const { root } = await buildProofTree(settings);
  const work = mkdtempSync(join(tmpdir(), "makefilecheck-doctor-"));
  dirs.push(root, work);
  chmodSync(work, 0o755);
  const out = join(work, "out");
  const script = [
    ...resolverUp(dns, work),
    "set +e",
    `${[process.execPath, BIN, "--root", root, "doctor", "--json", "-a", "exim4"].map(sh).join(" ")} >${sh(out)} 2>&1`,
    `echo $? >${sh(join(work, "code"))}`,
    resolverDown(work),
  ];
  writeFileSync(join(work, "run.sh"), `${script.join("\n")}\n`);
  runInNamespace(join(work, "run.sh"));
  const stdout = readFileSync(out, "utf8");
  const doc = jsonDocument(stdout) as { apps: Array<{ app: string; checks: Check[] }> };
  const exim = doc.apps.find((a) => a.app === "exim4")!;
  return { code: Number(readFileSync(join(work, "code"), "utf8")), stdout, checks: new Map(exim.checks.map((c) => [c.id, c])) };
}

/** Every test point answered with a listing code, and a PTR for 8.8.8.8. */
const LISTED: DnsRecords = {
  ptr: { "8.8.8.8": "dns.google" },
  a: {
    "2.0.0.127.zen.spamhaus.org": "127.0.0.2",
    "dbltest.com.dbl.spamhaus.org": "127.0.1.2",
    [`2.0.0.127.${KEY}.zen.dq.spamhaus.net`]: "127.0.0.2",
    [`dbltest.com.${KEY}.dbl.dq.spamhaus.net`]: "127.0.1.2",
    "2.0.0.127.bl.spamcop.net": "127.0.0.2",
    "2.0.0.127.b.barracudacentral.org": "127.0.0.2",
  },
};

const DNS_CHECKS = ["resolver-ptr", "dnsbl-spamhaus", "dnsbl-spamhaus-dbl", "dnsbl-spamhaus-dqs", "dnsbl-spamcop", "dnsbl-barracuda"];

describe.skipIf(skip)("doctor asks the host's resolver", () => {
  it("passes every DNS check when each test point answers a listing code, and never shows the key", async () => {
    const run = await doctorWith({ spamhausKey: KEY }, LISTED);
    for (const id of DNS_CHECKS) expect(run.checks.get(id), id).toMatchObject({ status: "ok" });
    expect(run.stdout).not.toContain(KEY);
    expect(run.code).toBe(0);
  });

  it("fails Spamhaus with the blocked-resolver cause and fix on 127.255.255.254", async () => {
    const blocked = { ...LISTED.a, "2.0.0.127.zen.spamhaus.org": "127.255.255.254", "dbltest.com.dbl.spamhaus.org": "127.255.255.254" };
    const run = await doctorWith({}, { ...LISTED, a: blocked });
    for (const id of ["dnsbl-spamhaus", "dnsbl-spamhaus-dbl"]) {
      const v = run.checks.get(id)!;
      expect(v.status, id).toBe("fail");
      expect(v.message).toContain("public or shared resolver");
      expect(v.fix).toContain("unbound");
    }
    expect(run.checks.get("dnsbl-spamcop")).toMatchObject({ status: "ok" });
    expect(run.code).toBe(1);
  });

  it("fails each list on its own wrong answer: a key not accepted, an unexpected code, an unregistered resolver, no PTR", async () => {
    const a: Record<string, string> = { ...LISTED.a, "2.0.0.127.bl.spamcop.net": "127.0.0.1" };
    delete a[`2.0.0.127.${KEY}.zen.dq.spamhaus.net`];
    delete a["2.0.0.127.b.barracudacentral.org"];
    const run = await doctorWith({ spamhausKey: KEY }, { a });
    expect(run.checks.get("dnsbl-spamhaus-dqs")!.message).toContain("the key is not accepted");
    expect(run.checks.get("dnsbl-spamcop")!.message).toContain("127.0.0.1 is not one of SpamCop's listing codes");
    expect(run.checks.get("dnsbl-barracuda")!.message).toContain("not registered with Barracuda");
    expect(run.checks.get("resolver-ptr")!.message).toContain("PTR of 8.8.8.8: none");
    for (const id of ["dnsbl-spamhaus-dqs", "dnsbl-spamcop", "dnsbl-barracuda", "resolver-ptr"]) expect(run.checks.get(id)!.status, id).toBe("fail");
    expect(run.stdout).not.toContain(KEY);
  });

  it("fails every DNS check, naming the silence, when the resolver answers nothing", async () => {
    const run = await doctorWith({ spamhausKey: KEY }, { unanswered: ["8.8.8.8.in-addr.arpa", "zen.spamhaus.org", "dbl.spamhaus.org", "dq.spamhaus.net", "bl.spamcop.net", "b.barracudacentral.org"] });
    for (const id of DNS_CHECKS) {
      const v = run.checks.get(id)!;
      expect(v.status, id).toBe("fail");
      expect(v.message, id).toContain("no answer within");
    }
  });
});

describe("which DNS checks apply", () => {
  it("asks only the lists the live config names outside comments, the keyed one only with its key", () => {
    const text = [
      "# dnslists = bl.spamcop.net",
      "  dnslists = zen.spamhaus.org=127.0.0.2",
      "  condition = ${lookup dnsdb{>: defer_never,a=x.SPAMHAUS_DQ_KEY.zen.dq.spamhaus.net}}",
    ].join("\n");
    expect(dnsUse(text).lists.map((l) => l.id)).toEqual(["dnsbl-spamhaus"]);
    expect(dnsUse(`SPAMHAUS_DQ_KEY = abc\n${text}`).lists.map((l) => l.id)).toEqual(["dnsbl-spamhaus", "dnsbl-spamhaus-dqs"]);
    expect(dnsUse("!condition = ${lookup dnsdb{ptr=$sender_host_address}{true}{false}}").ptr).toBe(true);
    expect(dnsUse("accept").ptr).toBe(false);
  });
});
