/** The one hash every stored identity uses: sha256 in hex. */
import { createHash } from "node:crypto";

/** The sha256 of some bytes (a string counts as its UTF-8), in hex. */
export function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}
