/**
 * The one hash every stored identity uses: sha256 in hex. node:crypto is
 * fetched on the first call rather than imported: an ESM import of it
 * costs a few milliseconds of start-up, a noticeable share of the `status`
 * budget (docs/architecture.md, Budgets), and `status` often hashes
 * nothing at all.
 */
import type { createHash as CreateHash } from "node:crypto";
import { builtin } from "./builtin.js";

let createHash: typeof CreateHash | undefined;

/** The md5 of some bytes in hex: only to compare with the hashes dpkg records for conffiles. */
export function md5(data: Buffer | string): string {
  createHash ??= builtin<typeof import("node:crypto")>("node:crypto").createHash;
  return createHash("md5").update(data).digest("hex");
}

/** The sha256 of some bytes (a string counts as its UTF-8), in hex. */
export function sha256(data: Buffer | string): string {
  createHash ??= builtin<typeof import("node:crypto")>("node:crypto").createHash;
  return createHash("sha256").update(data).digest("hex");
}
