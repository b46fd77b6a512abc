/**
 * A private mount and network namespace (`unshare -m -n`) with its own
 * resolver: only loopback exists, a resolv.conf naming 127.0.0.1 is bound
 * over /etc/resolv.conf, and dnsmasq serves the test's records there
 * (resolver.ts). Whatever runs inside (exim sessions, the makefilecheck
 * CLI) asks that resolver and nothing leaves the namespace.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARIES } from "./daemons.js";
import { RESOLV_CONF, dnsmasqArgs, type DnsRecords } from "./resolver.js";

/** Single-quotes a word for sh. */
export function sh(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Where the resolver of a namespace run keeps its files, inside the run's work dir. */
export function resolverFiles(work: string) {
  return { pidFile: join(work, "dnsmasq.pid"), queryLog: join(work, "queries.log"), resolvConf: join(work, "resolv.conf") };
}

/**
 * The script lines that set the namespace up: loopback up, our
 * resolv.conf bound in (written here, into `work`), dnsmasq started (it
 * returns once it is listening). `set -e` holds until the caller's lines.
 */
export function resolverUp(records: DnsRecords, work: string): string[] {
  const files = resolverFiles(work);
  writeFileSync(files.resolvConf, RESOLV_CONF);
  return [
    "set -e",
    "ip link set lo up",
    `mount --bind ${sh(files.resolvConf)} /etc/resolv.conf`,
    [BINARIES.dnsmasq, ...dnsmasqArgs(records, files)].map(sh).join(" "),
  ];
}

/**
 * The line that stops dnsmasq. Its query log is complete by then (without
 * --log-async it writes each line as it answers), so the script does not
 * wait for the daemon to be reaped, which can take the host's init a
 * second or more.
 */
export function resolverDown(work: string): string {
  return `kill "$(cat ${sh(resolverFiles(work).pidFile)})"`;
}

/** Runs the script file `script` in a fresh namespace; throws when the script fails. */
export function runInNamespace(script: string): void {
  const run = spawnSync(BINARIES.unshare, ["-m", "-n", "sh", script], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`namespace run failed (${run.status}): ${run.stderr}${run.error ?? ""}`);
}
