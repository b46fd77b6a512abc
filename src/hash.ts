/**
 * The one hash every stored identity uses: sha256 in hex. node:crypto is
 * fetched on the first call rather than imported: an ESM import of it
 * costs a few milliseconds of start-up, a noticeable share of the `status`
 * budget (docs/architecture.md, Budgets), and `status` often hashes
 * nothing at all.
 */
import type { createHash as CreateHash } from "node:crypto";
import { createRequire } from "node:module";

let createHash: typeof CreateHash | undefined;

/** The sha256 of some bytes (a string counts as its UTF-8), in hex. */
export function sha256(data: Buffer | string): string {
  // A require of a built-in module needs no real base path; Node 18 has no process.getBuiltinModule.
  createHash ??= (createRequire("/")("node:crypto") as typeof import("node:crypto")).createHash;
  return createHash("sha256").update(data).digest("hex");
}
