/**
 * Budget: `makefilecheck status` on the sample tree after `install --make`
 * takes at most 2.0x the wall time of `node -e 0`: the median of the
 * ratios of 31 pairs of runs, each pair run back to back, both without
 * Node's NODE_* variables, which a server's root shell lacks
 * (scripts/timing.ts). The gate is the figure in the bookworm root on
 * Debian's Node 18 (.ci/bookworm prints it); here it is measured on the
 * Node that runs the bench. `sync` and `repair`, the commands the upgrade
 * triggers run, are timed the same way for information, on a tree with
 * nothing to do (as after most upgrades).
 */
import { rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { makeRoot, writeSymplTree } from "../../test/fixtures/sympl.js";
import { compare } from "../timing.js";

const BIN = fileURLToPath(new URL("../../bin/makefilecheck", import.meta.url));
const BUDGET = 2.0;
const PAIRS = 31;

/** One line: the command's median, node -e 0's, and the median ratio of the pairs. */
function timed(args: string[], root: string): number {
  const [ms, node, ratio] = compare(PAIRS, [BIN, [...args, "--root", root]], [process.execPath, ["-e", "0"]]);
  console.log(`${args.join(" ").padEnd(12)} ${ms.toFixed(1)} ms, node -e 0 ${node.toFixed(1)} ms: ratio ${ratio.toFixed(2)}`);
  return ratio;
}

/** Prints the three ratios; true when status's is within budget. */
export async function run(): Promise<boolean> {
  const root = makeRoot();
  try {
    writeSymplTree(root);
    const install = spawnSync(BIN, ["install", "--make", "-q", "--root", root], { encoding: "utf8" });
    if (install.status !== 0) throw new Error(`bench: install --make on the sample tree failed: ${install.stderr}`);
    const status = spawnSync(BIN, ["status", "--root", root], { encoding: "utf8" });
    if (status.status !== 0) throw new Error(`bench: status after install is not clean: ${status.stdout}${status.stderr}`);
    const ratio = timed(["status"], root);
    timed(["sync", "-q"], root);
    timed(["repair", "-q"], root);
    console.log(`budget: status ≤ ${BUDGET.toFixed(1)}x node -e 0 (sync and repair for information)`);
    return ratio <= BUDGET;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
