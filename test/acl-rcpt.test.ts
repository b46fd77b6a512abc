/**
 * Proof with the real exim of the changes seen after the greeting: ch3
 * (logging, the firewall's AUTH pattern), ch8 (SpamCop and Barracuda per
 * domain), ch9 (no PTR at RCPT), ch10 (Spamhaus public and keyed rules,
 * the key never shown) and ch14 (local senders must exist). Sessions are
 * `exim4 -bh` host checks (exim-session.ts) against a hosted domain
 * example.org with one mailbox, alice.
 */
import { describe, expect, it } from "vitest";
import { addMailbox, enableBlacklist, type ProofTree } from "./support/changes-tree.js";
import { missingBinaries } from "./support/daemons.js";
import { FIREWALL_PATTERNS, cannotRunSessions, LOCAL_INTERFACE, firewallPattern, mailSession, type Session } from "./support/exim-session.js";
import { rcptReply, useProofTrees, withNames } from "./support/proof.js";
import { reversedAddress } from "./support/resolver.js";

const skip = missingBinaries("exim4", "dnsmasq", "unshare") ?? cannotRunSessions();
const prove = useProofTrees();

const DOMAIN = "example.org";
const ALICE = `alice@${DOMAIN}`;

/** example.org with alice's mailbox, and these blacklists switched on for it. */
function domainWith(...lists: string[]): (tree: ProofTree) => void {
  return (tree) => {
    addMailbox(tree.root, DOMAIN, "alice");
    for (const list of lists) enableBlacklist(tree.root, DOMAIN, list);
  };
}

/** A remote sender writing to alice. */
function toAlice(ip: string, from = "bob@sender.example"): Session {
  return mailSession(ip, from, ALICE);
}

describe.skipIf(skip)("ch3: logging for the firewall", () => {
  const ip = "45.67.89.70";
  const authBeforeTls: Session = { ip, commands: ["EHLO client.example.net", "AUTH PLAIN AGFsaWNlAHNlY3JldA==", "QUIT"] };
  const logsAuthPattern = (log: string[]): boolean => log.some((l) => firewallPattern(FIREWALL_PATTERNS.auth, ip).test(l));

  it("logs AUTH when not advertised with the interface, as the firewall's pattern expects", async () => {
    const result = await prove({}, [authBeforeTls], withNames([ip]));
    const session = result.sessions[0]!;
    expect(session.replies).toContain("503 AUTH command used when not advertised");
    expect(logsAuthPattern(session.log)).toBe(true);
    const iface = `I=[${LOCAL_INTERFACE.replace(/\.(\d+)$/, "]:$1")}`;
    expect(session.log.every((l) => l.includes(iface))).toBe(true);
  });

  it("without ch3 the protocol error is not logged and lines carry no I=", async () => {
    const result = await prove({ without: ["ch3"] }, [authBeforeTls], withNames([ip]));
    const session = result.sessions[0]!;
    expect(logsAuthPattern(session.log)).toBe(false);
    expect(session.log.some((l) => l.includes(" I=["))).toBe(false);
  });
});

describe.skipIf(skip)("ch8: SpamCop and Barracuda, per domain", () => {
  const inSpamcop = "45.67.89.80";
  const inBarracuda = "45.67.89.81";
  const dns = withNames([inSpamcop, inBarracuda], {
    a: {
      [`${reversedAddress(inSpamcop)}.bl.spamcop.net`]: "127.0.0.2",
      [`${reversedAddress(inBarracuda)}.b.barracudacentral.org`]: "127.0.0.2",
    },
  });
  // ch13 would refuse these clients at connect; here they must reach RCPT.
  const settings = { without: ["ch13"] };

  it("refuses a listed client for a domain that has the list's control file", async () => {
    const result = await prove(settings, [toAlice(inSpamcop), toAlice(inBarracuda)], dns, domainWith("bl.spamcop.net", "b.barracudacentral.org"));
    expect(rcptReply(result, 0)).toBe(`550 Mail from ${inSpamcop} refused: listed at bl.spamcop.net`);
    expect(rcptReply(result, 1)).toBe(`550 Mail from ${inBarracuda} refused: listed at b.barracudacentral.org`);
  });

  it("accepts the same clients for a domain without the control files", async () => {
    const result = await prove(settings, [toAlice(inSpamcop), toAlice(inBarracuda)], dns, domainWith());
    expect(rcptReply(result, 0)).toBe("250 Accepted");
    expect(rcptReply(result, 1)).toBe("250 Accepted");
  });
});

describe.skipIf(skip)("ch9: refuse clients without a PTR record at RCPT", () => {
  const named = "45.67.89.90";
  const nameless = "45.67.89.91";

  it("accepts a client with a PTR record and refuses one without", async () => {
    // Without ch12 the nameless client gets past the connect ACL.
    const result = await prove({ without: ["ch12"] }, [toAlice(named), toAlice(nameless)], withNames([named]), domainWith());
    expect(rcptReply(result, 0)).toBe("250 Accepted");
    expect(rcptReply(result, 1)).toBe(`550 No reverse DNS (PTR) record for ${nameless}`);
  });

  it("without ch9 the nameless client's mail is accepted", async () => {
    const result = await prove({ without: ["ch12", "ch9"] }, [toAlice(nameless)], {}, domainWith());
    expect(rcptReply(result, 0)).toBe("250 Accepted");
  });
});

describe.skipIf(skip)("ch10: Spamhaus at RCPT", () => {
  const listed = "45.67.89.100";
  const errorAnswer = "45.67.89.101";
  const spamDomain = "spammer.example";
  const key = "Q7wKeyOfTheAdmin";
  const settings = { without: ["ch13"] };

  it("public ZEN and DBL refuse on documented answers only, for domains with the control files", async () => {
    const dns = withNames([listed, errorAnswer], {
      a: {
        [`${reversedAddress(listed)}.zen.spamhaus.org`]: "127.0.0.4",
        [`${reversedAddress(errorAnswer)}.zen.spamhaus.org`]: "127.255.255.254",
        [`${spamDomain}.dbl.spamhaus.org`]: "127.0.1.2",
      },
    });
    const sessions = [toAlice(listed), toAlice(errorAnswer), toAlice(errorAnswer, `x@${spamDomain}`)];
    const result = await prove(settings, sessions, dns, domainWith("zen.spamhaus.org", "dbl.spamhaus.org"));
    expect(rcptReply(result, 0)).toBe(`550 Mail from ${listed} refused: listed at zen.spamhaus.org`);
    expect(rcptReply(result, 1)).toBe("250 Accepted");
    expect(rcptReply(result, 2)).toBe(`550 Sender domain ${spamDomain} refused: listed at dbl.spamhaus.org`);
  });

  it("does not ask Spamhaus for a domain without the control files", async () => {
    const result = await prove(settings, [toAlice(listed)], withNames([listed]), domainWith());
    expect(rcptReply(result, 0)).toBe("250 Accepted");
    expect(result.queries.filter((q) => q.includes("spamhaus"))).toEqual([]);
  });

  it("keyed ZEN and DBL refuse without ever showing the key in a reply or log line", async () => {
    const dns = withNames([listed, errorAnswer], {
      a: {
        [`${reversedAddress(listed)}.${key}.zen.dq.spamhaus.net`]: "127.0.0.2",
        [`${spamDomain}.${key}.dbl.dq.spamhaus.net`]: "127.0.1.5",
      },
    });
    const sessions = [toAlice(listed), toAlice(errorAnswer, `x@${spamDomain}`), toAlice(errorAnswer)];
    const result = await prove({ ...settings, spamhausKey: key }, sessions, dns, domainWith("zen.dq.spamhaus.net", "dbl.dq.spamhaus.net"));
    expect(rcptReply(result, 0)).toBe(`550 Mail from ${listed} refused: listed at Spamhaus ZEN`);
    expect(rcptReply(result, 1)).toBe(`550 Sender domain ${spamDomain} refused: listed at Spamhaus DBL`);
    expect(rcptReply(result, 2)).toBe("250 Accepted");
    // The keyed zones were really asked, so the key was in play...
    expect(result.queries).toContain(`${reversedAddress(listed)}.${key}.zen.dq.spamhaus.net`);
    // ...and still no reply or log line carries it. (exim -bh's ">>>"
    // trace prints the config line itself, which is not a log line.)
    for (const s of result.sessions) expect([...s.replies, ...s.log].join("\n")).not.toContain(key);
  });

  it("a keyed lookup that times out lets the mail in and logs nothing with the key", async () => {
    // exim logs a dnslists lookup that fails with its whole domain (the
    // dnslist_defer log selector, on by default): the keyed rules must not.
    const dns = withNames([listed], { unanswered: [`${key}.zen.dq.spamhaus.net`, `${key}.dbl.dq.spamhaus.net`] });
    const result = await prove({ ...settings, spamhausKey: key }, [toAlice(listed)], dns, domainWith("zen.dq.spamhaus.net", "dbl.dq.spamhaus.net"));
    expect(rcptReply(result, 0)).toBe("250 Accepted");
    expect(result.queries).toContain(`${reversedAddress(listed)}.${key}.zen.dq.spamhaus.net`);
    const session = result.sessions[0]!;
    expect([...session.replies, ...session.log].join("\n")).not.toContain(key);
  });

  it("keyed rules stay out of the config while no key is set", async () => {
    const result = await prove(settings, [toAlice(listed)], withNames([listed]), domainWith("zen.dq.spamhaus.net"));
    expect(rcptReply(result, 0)).toBe("250 Accepted");
    expect(result.queries.filter((q) => q.includes("dq.spamhaus.net"))).toEqual([]);
  });
});

describe.skipIf(skip)("ch14: a sender in a local domain must exist", () => {
  const ip = "45.67.89.110";

  it("refuses an unknown sender in our domain and accepts a known one", async () => {
    const sessions = [toAlice(ip, `nobody@${DOMAIN}`), toAlice(ip, ALICE)];
    const result = await prove({}, sessions, withNames([ip]), domainWith());
    expect(rcptReply(result, 0)).toBe(`550 Sender <nobody@${DOMAIN}> is in a local domain but does not exist here`);
    expect(rcptReply(result, 1)).toBe("250 Accepted");
  });

  it("without ch14 the forged local sender gets through", async () => {
    const result = await prove({ without: ["ch14"] }, [toAlice(ip, `nobody@${DOMAIN}`)], withNames([ip]), domainWith());
    expect(rcptReply(result, 0)).toBe("250 Accepted");
  });
});
