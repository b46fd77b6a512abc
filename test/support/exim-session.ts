/**
 * SMTP sessions against the real exim, as `exim4 -C CONF -bh IP` host
 * checks (docs/architecture.md, tests): exim runs the connect and RCPT
 * ACLs as if IP had connected, prints its SMTP replies, and prints what it
 * would have written to the main log as `LOG:` lines.
 *
 * All sessions of one call run inside one private mount and network
 * namespace (`unshare -m -n`): only loopback exists there, a temp
 * resolv.conf pointing at 127.0.0.1 is bound over /etc/resolv.conf, a
 * dnsmasq serves the test's records, and a fresh temp dir is bound over
 * /var/spool/exim4 so ratelimit hints are private to the call and carried
 * from one session to the next, as on a live server. Nothing leaves the
 * namespace and the host's /etc is never written.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARIES } from "./daemons.js";
import { resolverDown, resolverUp, runInNamespace, sh } from "./namespace.js";
import { queriedNames, type DnsRecords } from "./resolver.js";

/** One client: its address and the SMTP commands it sends (no CRLF). */
export interface Session {
  ip: string;
  commands: string[];
}

/** What exim said in one session. */
export interface SessionResult {
  ip: string;
  /** Everything exim printed, stdout then stderr: for failure messages and key greps. */
  output: string;
  /** SMTP reply lines (`220 ...`, `250-...`, `550 ...`). */
  replies: string[];
  /** Main log lines, without the `LOG: ` prefix. */
  log: string[];
}

/** What one namespace run gives back. */
export interface SessionsResult {
  sessions: SessionResult[];
  /** Every name the resolver was asked, in order. */
  queries: string[];
}

/** A run: the assembled config, macro overrides, DNS records and the sessions in order. */
export interface SessionsRequest {
  /** Host path of the assembled exim config (readable by root). */
  conf: string;
  /** `-DNAME=VALUE` overrides, e.g. VHOST_DIR pointing into the test root. */
  macros?: Record<string, string>;
  dns?: DnsRecords;
  sessions: Session[];
}

/**
 * A reason to skip when the sessions cannot run here: they need root for
 * `unshare -m -n` and the bind mounts. Throws instead when CI requires the
 * daemon proofs (MAKEFILECHECK_REQUIRE_DAEMONS), like missingBinaries().
 */
export function cannotRunSessions(): string | null {
  if (process.getuid?.() === 0) return null;
  const reason = "needs root (unshare -m -n and mount --bind for the private resolver and spool)";
  if (process.env.MAKEFILECHECK_REQUIRE_DAEMONS) throw new Error(`${reason}; MAKEFILECHECK_REQUIRE_DAEMONS is set, so this is a failure`);
  return reason;
}

/** The local interface the sessions pretend to arrive on (I=[198.51.100.1]:25). */
export const LOCAL_INTERFACE = "198.51.100.1.25";

/** The Debian exim user, who must reach the private spool. */
const EXIM_USER = { uid: uidOf("Debian-exim"), gid: gidOf("Debian-exim") };

function uidOf(user: string): number {
  const run = spawnSync("id", ["-u", user], { encoding: "utf8" });
  return run.status === 0 ? Number(run.stdout.trim()) : 0;
}

function gidOf(user: string): number {
  const run = spawnSync("id", ["-g", user], { encoding: "utf8" });
  return run.status === 0 ? Number(run.stdout.trim()) : 0;
}

/** The exim command line of one session. */
function eximCommand(req: SessionsRequest, ip: string): string[] {
  const macros = Object.entries(req.macros ?? {}).map(([name, value]) => `-D${name}=${value}`);
  return [BINARIES.exim4, "-C", req.conf, ...macros, "-oMi", LOCAL_INTERFACE, "-bh", ip];
}

/**
 * The script run inside the namespace: the resolver set up
 * (namespace.ts), the spool bound in, each session's exim fed its
 * commands, then the resolver stopped.
 */
function namespaceScript(req: SessionsRequest, work: string): string {
  const lines = [
    ...resolverUp(req.dns ?? {}, work),
    `mount --bind ${sh(join(work, "spool"))} /var/spool/exim4`,
    "set +e",
  ];
  req.sessions.forEach((session, i) => {
    const io = (ext: string): string => sh(join(work, `session-${i}.${ext}`));
    lines.push(`${eximCommand(req, session.ip).map(sh).join(" ")} <${io("in")} >${io("out")} 2>${io("err")}`);
  });
  lines.push(resolverDown(work));
  return `${lines.join("\n")}\n`;
}

/** Splits exim's -bh output into SMTP replies and log lines. */
function parseSession(ip: string, stdout: string, stderr: string): SessionResult {
  const output = `${stdout}${stderr}`;
  const lines = output.split(/\r?\n/);
  return {
    ip,
    output,
    replies: lines.filter((l) => /^\d{3}[ -]/.test(l)),
    log: lines.filter((l) => l.startsWith("LOG: ")).map((l) => l.slice("LOG: ".length)),
  };
}

/**
 * Runs the sessions in order in one fresh namespace and returns what exim
 * said in each and what the resolver was asked. Needs root, exim4,
 * dnsmasq and unshare (callers skip with missingBinaries() first).
 */
export function runSessions(req: SessionsRequest): SessionsResult {
  const work = mkdtempSync(join(tmpdir(), "makefilecheck-smtp-"));
  try {
    chmodSync(work, 0o755);
    const spool = join(work, "spool");
    mkdirSync(spool);
    chmodSync(spool, 0o750);
    chownSync(spool, EXIM_USER.uid, EXIM_USER.gid);
    req.sessions.forEach((session, i) => {
      writeFileSync(join(work, `session-${i}.in`), session.commands.map((c) => `${c}\r\n`).join(""));
    });
    const script = join(work, "run.sh");
    writeFileSync(script, namespaceScript(req, work));
    runInNamespace(script);
    const read = (name: string): string => readFileSync(join(work, name), "utf8");
    return {
      sessions: req.sessions.map((s, i) => parseSession(s.ip, read(`session-${i}.out`), read(`session-${i}.err`))),
      queries: queriedNames(read("queries.log")),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A plain session: greet, give a sender and a recipient, quit. */
export function mailSession(ip: string, from: string, to: string): Session {
  return { ip, commands: ["EHLO client.example.net", `MAIL FROM:<${from}>`, `RCPT TO:<${to}>`, "QUIT"] };
}

/** The firewall's log patterns (docs/sympl.md), with `__IP__` where the address goes. */
export const FIREWALL_PATTERNS = {
  history: String.raw`\[__IP__\] .*I=.*Blacklisted: Denied access - history of unwanted activity.*$`,
  auth: String.raw`\[__IP__\] I=.*AUTH command used when not advertised.*$`,
  deferred: String.raw`\[__IP__\] I=.*temporarily rejected.* Sender deferred.*$`,
} as const;

/** A firewall pattern with `__IP__` filled with the escaped address, as the firewall does. */
export function firewallPattern(template: string, ip: string): RegExp {
  const escaped = ip.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(template.replace("__IP__", escaped));
}
