/**
 * A test DNS resolver: Debian's dnsmasq answering only the records a test
 * gives it, on 127.0.0.1:53 inside the private network namespace the exim
 * sessions run in (see exim-session.ts). Nothing is forwarded anywhere.
 */
import { ptrName, reversedAddress } from "../../src/system/dns.js";

/** The records a test's resolver serves. */
export interface DnsRecords {
  /** Client address → host name: its PTR record. Addresses not named here have none. */
  ptr?: Record<string, string>;
  /** Fully qualified name → IPv4 address, e.g. a blacklist entry `4.3.2.1.zen.spamhaus.org` → `127.0.0.2`. */
  a?: Record<string, string>;
  /**
   * Names (and everything under them) the resolver never answers: it
   * forwards them to a port where nobody listens, so the client's lookup
   * times out, as when a blacklist's servers are down.
   */
  unanswered?: string[];
}

/**
 * The resolv.conf the namespace uses: our resolver, one second per try and
 * one try, so a lookup the resolver leaves unanswered fails in a second.
 */
export const RESOLV_CONF = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n";

/** Where unanswered names are sent: the discard port, with nothing listening. */
const BLACK_HOLE = "127.0.0.1#9";

/**
 * Zones answered from the records above only: any other name in them is
 * NXDOMAIN ("not listed", "no PTR"), never a timeout. The reverse trees
 * and every blacklist the changes ask.
 */
export const LOCAL_ZONES = [
  "in-addr.arpa",
  "ip6.arpa",
  "spamhaus.org",
  "spamhaus.net",
  "spamcop.net",
  "barracudacentral.org",
] as const;

export { ptrName, reversedAddress };

/** Where dnsmasq keeps its pid and writes its query log. */
export interface ResolverFiles {
  pidFile: string;
  queryLog: string;
}

/**
 * dnsmasq's command line for `records`: local-only, on 127.0.0.1:53,
 * logging every query to `files.queryLog` so tests can see what exim
 * asked (and, as important, what it did not).
 */
export function dnsmasqArgs(records: DnsRecords, files: ResolverFiles): string[] {
  return [
    "--no-resolv",
    "--no-hosts",
    "--listen-address=127.0.0.1",
    "--bind-interfaces",
    "--port=53",
    `--pid-file=${files.pidFile}`,
    "--log-queries",
    `--log-facility=${files.queryLog}`,
    ...LOCAL_ZONES.map((zone) => `--local=/${zone}/`),
    ...Object.entries(records.ptr ?? {}).map(([ip, name]) => `--ptr-record=${ptrName(ip)},${name}`),
    ...Object.entries(records.a ?? {}).map(([name, ip]) => `--address=/${name}/${ip}`),
    ...(records.unanswered ?? []).map((name) => `--server=/${name}/${BLACK_HOLE}`),
  ];
}

/** The names dnsmasq's query log says were asked, in order (`query[A] NAME from ...`). */
export function queriedNames(queryLog: string): string[] {
  return [...queryLog.matchAll(/query\[[A-Z]+\] (\S+) from /g)].map((m) => m[1]!);
}
