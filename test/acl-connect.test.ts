/**
 * Proof with the real exim of the connect-ACL changes: ch5 (connect
 * whitelist), ch6 (firewall history), ch7 (ratelimit), ch12 (no PTR) and
 * ch13 (DNS blacklists at connect), and the firewall's log patterns for
 * the history and deferral lines. Each session is an `exim4 -bh` host
 * check in a private namespace with its own resolver (exim-session.ts).
 */
import { describe, expect, it } from "vitest";
import { FIREWALL_DB_PATH, writeConnectWhitelist, type ProofSettings, type ProofTree } from "./support/changes-tree.js";
import { missingBinaries } from "./support/daemons.js";
import { FIREWALL_PATTERNS, cannotRunSessions, firewallPattern } from "./support/exim-session.js";
import { writeFirewallDb, type FirewallEntry } from "./support/firewall-db.js";
import { connectOnly, greeting, useProofTrees, withNames } from "./support/proof.js";
import { ptrName, reversedAddress, type DnsRecords } from "./support/resolver.js";
import { inRoot } from "./fixtures/sympl.js";

const skip = missingBinaries("exim4", "dnsmasq", "sqlite3", "unshare") ?? cannotRunSessions();
const run = useProofTrees();

const { history: HISTORY, deferred: DEFERRED } = FIREWALL_PATTERNS;

const HISTORY_MESSAGE = "Blacklisted: Denied access - history of unwanted activity";

describe.skipIf(skip)("ch6: refuse clients with a history in the firewall database", () => {
  describe.each(["nftfw", "sympl"] as const)("with the %s database", (flavour) => {
    const settings: ProofSettings = { firewall: flavour };
    const entries: FirewallEntry[] = [
      { ip: "45.67.89.11", count: 11 },
      { ip: "45.67.89.12", count: 10 },
      { ip: "2a01:4f8:1:2::/64", count: 11 },
      { ip: "2a01:4f8:1:3::/64", count: 10 },
    ];
    const clients = ["45.67.89.11", "45.67.89.12", "2a01:4f8:1:2::5", "2a01:4f8:1:3::77"];

    it("refuses above the threshold and lets in at it, IPv4 and IPv6 by its /64", async () => {
      const result = await run(settings, clients.map(connectOnly), withNames(clients), (t) =>
        writeFirewallDb(inRoot(t.root, FIREWALL_DB_PATH[flavour]), flavour, entries),
      );
      expect(greeting(result, 0)).toBe(`550 ${HISTORY_MESSAGE}`);
      expect(greeting(result, 1)).toMatch(/^220 /);
      expect(greeting(result, 2)).toBe(`550 ${HISTORY_MESSAGE}`);
      expect(greeting(result, 3)).toMatch(/^220 /);
    });

    it("writes the log line the firewall's history pattern matches, only for the refused client", async () => {
      const ips = ["45.67.89.11", "45.67.89.12"];
      const result = await run(settings, ips.map(connectOnly), withNames(ips), (t) =>
        writeFirewallDb(inRoot(t.root, FIREWALL_DB_PATH[flavour]), flavour, entries),
      );
      const [refused, passed] = result.sessions;
      expect(refused!.log.some((l) => firewallPattern(HISTORY, refused!.ip).test(l))).toBe(true);
      expect(passed!.log.some((l) => firewallPattern(HISTORY, passed!.ip).test(l))).toBe(false);
    });
  });

  it("leaves the rule out while no firewall is configured", async () => {
    const ip = "45.67.89.11";
    const result = await run({}, [connectOnly(ip)], withNames([ip]), (t) =>
      writeFirewallDb(inRoot(t.root, FIREWALL_DB_PATH.nftfw), "nftfw", [{ ip, count: 99 }]),
    );
    expect(greeting(result, 0)).toMatch(/^220 /);
  });

  it("lets clients in when the configured database file is missing", async () => {
    const ip = "45.67.89.11";
    const result = await run({ firewall: "sympl" }, [connectOnly(ip)], withNames([ip]));
    expect(greeting(result, 0)).toMatch(/^220 /);
  });
});

describe.skipIf(skip)("ch5: the connect whitelist skips every connect check", () => {
  // This client fails all of them: no PTR (ch12), listed at every DNS
  // blacklist (ch13) and far over the firewall threshold (ch6).
  const ip = "45.67.89.30";
  const settings: ProofSettings = { firewall: "nftfw" };
  const listed: DnsRecords = {
    a: Object.fromEntries(
      ["zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org"].map((list) => [`${reversedAddress(ip)}.${list}`, "127.0.0.2"]),
    ),
  };
  const badHistory = (t: ProofTree): void => writeFirewallDb(inRoot(t.root, FIREWALL_DB_PATH.nftfw), "nftfw", [{ ip, count: 50 }]);

  it("lets a whitelisted client in without asking the resolver about it", async () => {
    const result = await run(settings, [connectOnly(ip)], listed, (t) => {
      badHistory(t);
      writeConnectWhitelist(t.root, ["# the admin's own relay", "45.67.89.0/24"]);
    });
    expect(greeting(result, 0)).toMatch(/^220 /);
    expect(result.queries.filter((q) => q.includes(reversedAddress(ip)))).toEqual([]);
  });

  it("checks the same client when it is not on the list", async () => {
    const result = await run(settings, [connectOnly(ip)], listed, (t) => {
      badHistory(t);
      writeConnectWhitelist(t.root, ["45.67.90.0/24"]);
    });
    expect(greeting(result, 0)).toMatch(/^550 /);
  });

  it("works without a whitelist file", async () => {
    const other = "45.67.89.31";
    const result = await run(settings, [connectOnly(other)], withNames([other]));
    expect(greeting(result, 0)).toMatch(/^220 /);
  });
});

describe.skipIf(skip)("ch7: connection ratelimit", () => {
  // exim -bh keeps ratelimit data in the spool's hints database from one
  // run to the next, so these are the real 10 per 15m limit over eleven
  // consecutive -bh runs sharing one private spool (no test threshold).
  const ip = "45.67.89.40";
  const other = "45.67.89.41";

  it("logs every client's rate and defers the 11th connection within the window", async () => {
    const sessions = [...Array.from({ length: 11 }, () => connectOnly(ip)), connectOnly(other)];
    const result = await run({}, sessions, withNames([ip, other]));
    for (let i = 0; i < 10; i++) {
      expect(greeting(result, i)).toMatch(/^220 /);
      expect(result.sessions[i]!.log).toContainEqual(expect.stringMatching(new RegExp(`Connection rate ${i + 1}\\.\\d+ per 15m`)));
    }
    const eleventh = result.sessions[10]!;
    expect(greeting(result, 10)).toMatch(/^4\d\d /);
    expect(eleventh.log.some((l) => firewallPattern(DEFERRED, ip).test(l))).toBe(true);
    // The limit is per client: another address is still let in.
    expect(greeting(result, 11)).toMatch(/^220 /);
    expect(result.sessions[11]!.log.some((l) => firewallPattern(DEFERRED, other).test(l))).toBe(false);
  });
});

describe.skipIf(skip)("ch12: refuse clients without a PTR record at connect", () => {
  const named = "45.67.89.50";
  const nameless = "45.67.89.51";

  it("lets a client with a PTR record in and refuses one without", async () => {
    const result = await run({}, [connectOnly(named), connectOnly(nameless)], withNames([named]));
    expect(greeting(result, 0)).toMatch(/^220 /);
    expect(greeting(result, 1)).toBe(`550 No reverse DNS (PTR) record for ${nameless}`);
    expect(result.queries).toContain(ptrName(nameless));
  });

  it("a PTR lookup that times out gives a temporary error, not a refusal", async () => {
    const silent = "45.67.89.52";
    const result = await run({}, [connectOnly(silent)], { unanswered: [ptrName(silent)] });
    expect(greeting(result, 0)).toMatch(/^451 /);
  });

  it("without ch12 the nameless client gets in", async () => {
    const result = await run({ without: ["ch12"] }, [connectOnly(nameless)], {});
    expect(greeting(result, 0)).toMatch(/^220 /);
  });
});

describe.skipIf(skip)("ch13: DNS blacklists at connect", () => {
  const clean = "45.67.89.60";
  const inZen = "45.67.89.61";
  const inSpamcop = "45.67.89.62";
  const inBarracuda = "45.67.89.63";
  const clients = [clean, inZen, inSpamcop, inBarracuda];
  const listings: DnsRecords = withNames(clients, {
    a: {
      [`${reversedAddress(inZen)}.zen.spamhaus.org`]: "127.0.0.2",
      [`${reversedAddress(inSpamcop)}.bl.spamcop.net`]: "127.0.0.2",
      [`${reversedAddress(inBarracuda)}.b.barracudacentral.org`]: "127.0.0.2",
    },
  });

  it("refuses a client listed in each enabled list and lets a clean one in", async () => {
    const result = await run({}, clients.map(connectOnly), listings);
    expect(greeting(result, 0)).toMatch(/^220 /);
    expect(greeting(result, 1)).toBe(`550 Connection from ${inZen} refused: listed at zen.spamhaus.org`);
    expect(greeting(result, 2)).toBe(`550 Connection from ${inSpamcop} refused: listed at bl.spamcop.net`);
    expect(greeting(result, 3)).toBe(`550 Connection from ${inBarracuda} refused: listed at b.barracudacentral.org`);
  });

  it("never queries a list left out of DNSBL_CHECK_IN_CONNECT", async () => {
    const result = await run({ dnsblInConnect: "spamhaus : spamcop" }, clients.map(connectOnly), listings);
    expect(greeting(result, 3)).toMatch(/^220 /);
    expect(result.queries.filter((q) => q.endsWith(".b.barracudacentral.org"))).toEqual([]);
    expect(result.queries).toContain(`${reversedAddress(inBarracuda)}.bl.spamcop.net`);
  });

  it("refuses only on documented answers: Spamhaus error and PBL answers let the client in", async () => {
    const errorAnswer = "45.67.89.64";
    const pbl = "45.67.89.65";
    const dns = withNames([errorAnswer, pbl], {
      a: {
        [`${reversedAddress(errorAnswer)}.zen.spamhaus.org`]: "127.255.255.254",
        [`${reversedAddress(pbl)}.zen.spamhaus.org`]: "127.0.0.10",
      },
    });
    const result = await run({}, [connectOnly(errorAnswer), connectOnly(pbl)], dns);
    expect(greeting(result, 0)).toMatch(/^220 /);
    expect(greeting(result, 1)).toMatch(/^220 /);
  });

  it("does not ask SpamCop about IPv6 clients", async () => {
    const v6 = "2a01:4f8:1:9::5";
    const result = await run({}, [connectOnly(v6)], withNames([v6]));
    expect(greeting(result, 0)).toMatch(/^220 /);
    expect(result.queries).toContain(`${reversedAddress(v6)}.zen.spamhaus.org`);
    expect(result.queries.filter((q) => q.endsWith(".bl.spamcop.net"))).toEqual([]);
  });

  it("with a Spamhaus key asks the keyed zone and keeps the key out of replies and log lines", async () => {
    const key = "Zx81SecretKey";
    const dns = withNames([clean, inZen], { a: { [`${reversedAddress(inZen)}.${key}.zen.dq.spamhaus.net`]: "127.0.0.2" } });
    const result = await run({ spamhausKey: key }, [connectOnly(clean), connectOnly(inZen)], dns);
    expect(greeting(result, 0)).toMatch(/^220 /);
    expect(greeting(result, 1)).toBe(`550 Connection from ${inZen} refused: listed at Spamhaus ZEN`);
    expect(result.queries).toContain(`${reversedAddress(inZen)}.${key}.zen.dq.spamhaus.net`);
    expect(result.queries.filter((q) => q.endsWith(".zen.spamhaus.org"))).toEqual([]);
    for (const s of result.sessions) expect([...s.replies, ...s.log].join("\n")).not.toContain(key);
  });
});
