/**
 * The shared steps of the ACL proofs: build a tree with the changes,
 * let the test add its data, run exim sessions against it, clean up.
 */
import { rmSync } from "node:fs";
import { afterEach } from "vitest";
import { buildProofTree, rootMacros, type ProofSettings, type ProofTree } from "./changes-tree.js";
import { runSessions, type Session, type SessionsResult } from "./exim-session.js";
import type { DnsRecords } from "./resolver.js";

/** Installs with `settings`, runs `prepare` on the tree, then the sessions in one namespace. */
export type ProveFn = (
  settings: ProofSettings,
  sessions: Session[],
  dns: DnsRecords,
  prepare?: (tree: ProofTree) => void,
) => Promise<SessionsResult>;

/**
 * A `prove` function for one test file; registers an afterEach that
 * removes every tree it built.
 */
export function useProofTrees(): ProveFn {
  const roots: string[] = [];
  afterEach(() => {
    for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
  });
  return async (settings, sessions, dns, prepare) => {
    const tree = await buildProofTree(settings);
    roots.push(tree.root);
    prepare?.(tree);
    return runSessions({ conf: tree.conf.exim4, macros: rootMacros(tree, settings), dns, sessions });
  };
}

/** `more` plus a PTR record for each of `ips`, so ch12 lets them connect. */
export function withNames(ips: string[], more: DnsRecords = {}): DnsRecords {
  return { ...more, ptr: { ...Object.fromEntries(ips.map((ip, i) => [ip, `host${i}.example.net`])), ...more.ptr } };
}

/** A client that connects and leaves: enough for the connect ACL. */
export function connectOnly(ip: string): Session {
  return { ip, commands: ["QUIT"] };
}

/** Session `i`'s first SMTP reply: the greeting (220) or the connect ACL's refusal. */
export function greeting(result: SessionsResult, i: number): string {
  return result.sessions[i]!.replies[0] ?? `(no reply) ${result.sessions[i]!.output}`;
}

/** Session `i`'s reply to RCPT TO: the last line before QUIT's 221. */
export function rcptReply(result: SessionsResult, i: number): string {
  const replies = result.sessions[i]!.replies;
  return replies[replies.length - 2] ?? `(no reply) ${result.sessions[i]!.output}`;
}
