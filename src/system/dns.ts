/**
 * DNS questions to the resolver this host's programs use. Exim on this
 * host asks the resolver the host's /etc/resolv.conf names, so that file is
 * read, never a --root copy's. Questions go through node's resolver
 * (c-ares), which reads the same file, all at once and under one deadline:
 * a resolver that answers nothing costs the deadline, not a timeout per
 * question.
 */
import { isIP } from "node:net";
import { serverPath } from "../paths.js";
import { hostReader } from "./host.js";

/** What one question got: records, NXDOMAIN, no records of that type, no answer in time, or another error. */
export type DnsAnswer =
  | { kind: "answer"; values: string[] }
  | { kind: "nxdomain" }
  | { kind: "nodata" }
  | { kind: "timeout" }
  | { kind: "error"; code: string };

/** An A question for a name, or a PTR question for an address. */
export interface DnsQuestion {
  type: "A" | "PTR";
  name: string;
}

/** The resolver file every program on the host reads. */
export const RESOLV_CONF = serverPath("/etc/resolv.conf");

/** The nameservers the host's resolv.conf names, in order; empty when it names none or is missing. */
export function hostNameservers(): string[] {
  const host = hostReader();
  if (host.stat(RESOLV_CONF) === null) return [];
  const text = host.readFile(RESOLV_CONF).toString("utf8");
  return [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]!);
}

/** The eight 16-bit groups of an IPv6 address, each as four hex digits. */
function ipv6Groups(ip: string): string[] {
  const [head, tail] = ip.includes("::") ? ip.split("::") : [ip, undefined];
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill("0");
  return [...left, ...zeros, ...right].map((g) => g.padStart(4, "0").toLowerCase());
}

/**
 * The DNS name an address is looked up under in a reverse tree or a
 * blacklist: reversed octets for IPv4, reversed nibbles for IPv6.
 */
export function reversedAddress(ip: string): string {
  if (isIP(ip) === 4) return ip.split(".").reverse().join(".");
  if (isIP(ip) === 6) return [...ipv6Groups(ip).join("")].reverse().join(".");
  throw new Error(`internal error: not an IP address: ${ip}`);
}

/** The PTR owner name of an address. */
export function ptrName(ip: string): string {
  return `${reversedAddress(ip)}.${isIP(ip) === 4 ? "in-addr.arpa" : "ip6.arpa"}`;
}

/** Sorts a resolver failure into what the checks tell apart. */
function failed(err: unknown): DnsAnswer {
  const code = (err as NodeJS.ErrnoException).code ?? "EUNKNOWN";
  if (code === "ENOTFOUND") return { kind: "nxdomain" };
  if (code === "ENODATA") return { kind: "nodata" };
  if (code === "ETIMEOUT" || code === "ECANCELLED") return { kind: "timeout" };
  return { kind: "error", code };
}

/**
 * Asks every question of `questions` at once; each answer is in the same
 * place. `deadlineMs` bounds the whole: what has no answer by then is a
 * timeout. Never throws for a DNS failure.
 */
export async function askHostResolver(questions: DnsQuestion[], deadlineMs: number): Promise<DnsAnswer[]> {
  // Loaded here, not at start-up: only doctor asks the DNS.
  const { Resolver } = await import("node:dns/promises");
  // One try per server; with several servers c-ares goes on to the next, which the deadline cuts.
  const resolver = new Resolver({ timeout: Math.ceil(deadlineMs / 2), tries: 1 });
  const timer = setTimeout(() => resolver.cancel(), deadlineMs);
  try {
    return await Promise.all(
      questions.map(async (q): Promise<DnsAnswer> => {
        try {
          // resolvePtr, not reverse: reverse falls back to /etc/hosts and turns a timeout into "not found".
          const values = q.type === "A" ? await resolver.resolve4(q.name) : await resolver.resolvePtr(ptrName(q.name));
          return { kind: "answer", values };
        } catch (err) {
          return failed(err);
        }
      }),
    );
  } finally {
    clearTimeout(timer);
  }
}
