/**
 * The resolver and blacklist checks (ch8, ch9, ch10, ch12, ch13). Each
 * blacklist the live config asks is asked at its documented test point,
 * an entry that is always listed; a listing code is the only good answer.
 * Error codes, NXDOMAIN and silence all mean exim's rule quietly lets
 * every client through (or, for the PTR rules, refuses or defers them).
 */
import type { DnsAnswer, DnsQuestion } from "../system/dns.js";
import { askHostResolver } from "../system/dns.js";
import { activeLines, eximMacros } from "./config.js";
import type { CheckId, Verdict } from "./report.js";
import { fail, ok } from "./report.js";

/** How long all DNS questions together may take: a dead resolver costs this, once. */
export const DNS_DEADLINE_MS = 3_000;

/** The address resolver-ptr asks about by default: public, outside every local range, always with a PTR. */
export const DEFAULT_PTR_ADDRESS = "8.8.8.8";

/** One blacklist as doctor checks it. */
interface Blacklist {
  id: CheckId;
  name: string;
  /** The zones the config names when it asks this list. */
  zone: string;
  /** Test point(s); `KEY` stands for the Spamhaus DQS key. */
  points: string[];
  listed: readonly string[];
  keyed?: boolean;
  /** Answers other than 127.255.255.x that mean an error (the DBL's). */
  errors?: readonly string[];
}

const ZEN_CODES = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.9", "127.0.0.10", "127.0.0.11"];
const DBL_CODES = ["127.0.1.2", "127.0.1.4", "127.0.1.5", "127.0.1.6", "127.0.1.102", "127.0.1.103", "127.0.1.104", "127.0.1.105", "127.0.1.106"];

const BLACKLISTS: readonly Blacklist[] = [
  { id: "dnsbl-spamhaus", name: "Spamhaus ZEN", zone: "zen.spamhaus.org", points: ["2.0.0.127.zen.spamhaus.org"], listed: ZEN_CODES },
  { id: "dnsbl-spamhaus-dbl", name: "Spamhaus DBL", zone: "dbl.spamhaus.org", points: ["dbltest.com.dbl.spamhaus.org"], listed: DBL_CODES, errors: ["127.0.1.255"] },
  {
    id: "dnsbl-spamhaus-dqs",
    name: "Spamhaus DQS",
    zone: "dq.spamhaus.net",
    points: ["2.0.0.127.KEY.zen.dq.spamhaus.net", "dbltest.com.KEY.dbl.dq.spamhaus.net"],
    listed: [...ZEN_CODES, ...DBL_CODES],
    keyed: true,
    errors: ["127.0.1.255"],
  },
  { id: "dnsbl-spamcop", name: "SpamCop", zone: "bl.spamcop.net", points: ["2.0.0.127.bl.spamcop.net"], listed: ["127.0.0.2"] },
  { id: "dnsbl-barracuda", name: "Barracuda", zone: "b.barracudacentral.org", points: ["2.0.0.127.b.barracudacentral.org"], listed: ["127.0.0.2"] },
];

/** What the live exim config asks of the DNS. */
export interface DnsUse {
  /** A rule looks up the client's PTR record (ch9, ch12). */
  ptr: boolean;
  lists: Blacklist[];
  /** The Spamhaus DQS key, when one is defined; never shown. */
  key: string | null;
}

/** The DNS questions the live config's rules ask; a keyed list counts only while its key is defined. */
export function dnsUse(configText: string): DnsUse {
  const active = activeLines(configText).join("\n");
  const key = eximMacros(active).get("SPAMHAUS_DQ_KEY") ?? null;
  const names = (zone: string) => new RegExp(`(^|[^A-Za-z0-9-])${zone.replaceAll(".", "\\.")}\\b`).test(active);
  const lists = BLACKLISTS.filter((l) => names(l.zone) && (!l.keyed || (key !== null && /^[A-Za-z0-9]+$/.test(key))));
  return { ptr: /dnsdb\{[^}]*\bptr=/.test(active), lists, key };
}

/** True when the config asks the DNS anything doctor checks. */
export function usesDns(use: DnsUse): boolean {
  return use.ptr || use.lists.length > 0;
}

const LOCAL_RESOLVER = "run a local caching resolver such as unbound that asks the lists' servers itself (not forwarding to a public resolver), and name it first in /etc/resolv.conf (nameserver 127.0.0.1)";
const KEY_FIX = "check the key in your Spamhaus account, set AUTO_SPAMHAUS_DB_KEY to it and run `makefilecheck install` again";
const BARRACUDA_FIX = "register the public address your resolver queries from at barracudacentral.org, or use a local resolver whose address is registered";

/** Why an answer outside the listing codes came, and what fixes it. */
function errorCode(list: Blacklist, code: string): { why: string; fix: string } {
  if (list.keyed && code.startsWith("127.255.255.")) return { why: `error code ${code}: the key is not accepted (unknown, expired or over its limit)`, fix: KEY_FIX };
  switch (code) {
    case "127.255.255.254":
      return { why: `error code ${code}: Spamhaus refuses queries through a public or shared resolver`, fix: `${LOCAL_RESOLVER}, or use a Spamhaus DQS key (AUTO_SPAMHAUS_DB_KEY)` };
    case "127.255.255.255":
      return { why: `error code ${code}: too many queries through this resolver`, fix: `${LOCAL_RESOLVER}, or use a Spamhaus DQS key (AUTO_SPAMHAUS_DB_KEY)` };
    case "127.255.255.252":
      return { why: `error code ${code}: a typing error in the list name`, fix: `check the spelling of ${list.zone} in the config` };
    case "127.0.1.255":
      return { why: `error code ${code}: the DBL refused the query`, fix: LOCAL_RESOLVER };
    default:
      return { why: `answer ${code} is not one of ${list.name}'s listing codes`, fix: `${LOCAL_RESOLVER}; a resolver that rewrites answers breaks every blacklist` };
  }
}

/** Why a test point got no listing at all, and what fixes it. */
function noListing(list: Blacklist, answer: Exclude<DnsAnswer, { kind: "answer" }>): { why: string; fix: string } {
  const what = answer.kind === "timeout" ? `no answer within ${DNS_DEADLINE_MS / 1000} s` : answer.kind === "error" ? `the resolver failed (${answer.code})` : answer.kind === "nxdomain" ? "NXDOMAIN" : "no A record";
  if (list.keyed && answer.kind !== "timeout" && answer.kind !== "error") return { why: `${what} for a point that is always listed: the key is not accepted`, fix: KEY_FIX };
  if (list.id === "dnsbl-barracuda") return { why: `${what} for a point that is always listed: the resolver is not registered with Barracuda, or cannot reach it`, fix: BARRACUDA_FIX };
  if (answer.kind === "timeout" || answer.kind === "error") return { why: `${what}: the resolver or the list's servers are not reachable`, fix: LOCAL_RESOLVER };
  return { why: `${what} for a point that is always listed: the resolver filters or rewrites blacklist answers`, fix: LOCAL_RESOLVER };
}

/** A test point as it may be shown: the key never is. */
function shown(point: string): string {
  return point.replace("KEY", "<key>");
}

/** The verdict on one list from its test points' answers. */
function listVerdict(list: Blacklist, answers: DnsAnswer[]): Verdict {
  for (const [i, answer] of answers.entries()) {
    const point = shown(list.points[i]!);
    if (answer.kind !== "answer") {
      const { why, fix } = noListing(list, answer);
      return fail(list.id, `${list.name}: ${point}: ${why}; the rules then let every client through`, fix);
    }
    const bad = answer.values.find((v) => !list.listed.includes(v) || list.errors?.includes(v));
    if (bad) {
      const { why, fix } = errorCode(list, bad);
      return fail(list.id, `${list.name}: ${point}: ${why}; the rules then let every client through`, fix);
    }
  }
  const got = answers.map((a, i) => `${shown(list.points[i]!)} → ${a.kind === "answer" ? a.values.join(", ") : ""}`).join("; ");
  return ok(list.id, `${list.name} answers its test point with a listing code (${got})`);
}

/** The verdict on the PTR question. */
function ptrVerdict(address: string, answer: DnsAnswer): Verdict {
  if (answer.kind === "answer" && answer.values.length) return ok("resolver-ptr", `${address} has the PTR record ${answer.values[0]}`);
  if (answer.kind === "timeout" || answer.kind === "error") {
    const what = answer.kind === "timeout" ? `no answer within ${DNS_DEADLINE_MS / 1000} s` : `the resolver failed (${answer.code})`;
    return fail("resolver-ptr", `PTR of ${address}: ${what}; exim then defers what needs the DNS (4xx)`, LOCAL_RESOLVER);
  }
  return fail("resolver-ptr", `PTR of ${address}: none, though it always has one; the no-PTR rules (ch9, ch12) would refuse good clients`, LOCAL_RESOLVER);
}

/**
 * resolver-ptr (when the config asks the DNS at all) and one verdict per
 * blacklist the config asks, from one round of questions to the host's resolver.
 */
export async function checkDns(use: DnsUse, ptrAddress: string): Promise<Verdict[]> {
  if (!usesDns(use)) return [];
  const questions: DnsQuestion[] = [{ type: "PTR", name: ptrAddress }];
  for (const list of use.lists) for (const point of list.points) questions.push({ type: "A", name: point.replace("KEY", use.key ?? "") });
  const answers = await askHostResolver(questions, DNS_DEADLINE_MS);
  const verdicts = [ptrVerdict(ptrAddress, answers[0]!)];
  let at = 1;
  for (const list of use.lists) {
    verdicts.push(listVerdict(list, answers.slice(at, at + list.points.length)));
    at += list.points.length;
  }
  return verdicts;
}
