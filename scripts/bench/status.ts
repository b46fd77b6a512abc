/**
 * Budget: `makefilecheck status` on a fixture tree takes at most 1.3x the
 * wall time of `node -e 0` on the same machine, medians of interleaved runs.
 */
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { makeRoot, writeSymplTree } from "../../test/fixtures/sympl.js";
import { compare } from "../timing.js";

const BIN = fileURLToPath(new URL("../../bin/makefilecheck", import.meta.url));
const BUDGET = 1.3;

/** Prints the status ratio; true when within budget. */
export async function run(): Promise<boolean> {
  const root = makeRoot();
  try {
    writeSymplTree(root);
    const [status, node] = compare(31, [BIN, ["status", "--root", root]], [process.execPath, ["-e", "0"]]);
    const ratio = status / node;
    console.log(`status ${status.toFixed(1)} ms, node -e 0 ${node.toFixed(1)} ms: ratio ${ratio.toFixed(2)} (budget ${BUDGET})`);
    return ratio <= BUDGET;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
