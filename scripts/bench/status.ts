/**
 * Budget: `makefilecheck status` on an installed sample server (the demo's
 * tree after `install --make`) takes at most 1.25x the wall time of
 * `node -e 0` on the same machine, the median ratio of interleaved pairs of runs, started as
 * the Debian package starts it: with the V8 code cache its postinst makes
 * (here in a temp MAKEFILECHECK_CACHE_DIR), and both without Node's NODE_*
 * variables, which a server's root shell lacks (scripts/timing.ts). As on
 * a server, where status runs a while after install, the tree is first
 * left longer than the caches' 2 s rule; the first status then records
 * its caches (the stat cache and the built verdict, src/tree/), and, once
 * they too have settled, the second its memo (src/makefilecheck/
 * status-memo.ts), which the timed runs use. For information: the plain
 * bundle, as the npm route runs it, and status right after a change (a
 * snippet touched), which has no memo to use (both sides then also run a
 * shell and touch).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { makeRoot, writeSymplTree } from "../../test/fixtures/sympl.js";
import { compare } from "../timing.js";

const BIN = fileURLToPath(new URL("../../bin/makefilecheck", import.meta.url));
const BUDGET = 1.25;

/** Prints the status ratios; true when the packaged start is within budget. */
export async function run(): Promise<boolean> {
  const root = makeRoot();
  const cache = mkdtempSync(`${tmpdir()}/makefilecheck-bench-cache-`);
  try {
    writeSymplTree(root);
    const install = spawnSync(BIN, ["install", "--make", "-q", "--root", root], { encoding: "utf8" });
    if (install.status !== 0) throw new Error(`bench: install --make on the sample tree failed: ${install.stderr}`);
    // Files written a moment ago are not yet trusted by the caches (the 2 s rule).
    const settle = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2_100);
    for (const records of ["caches", "memo"]) {
      settle();
      const status = spawnSync(BIN, ["status", "--root", root], { encoding: "utf8", env: { ...process.env, MAKEFILECHECK_CACHE_DIR: cache } });
      if (status.status !== 0) throw new Error(`bench: status after install (recording its ${records}) is not clean: ${status.stdout}${status.stderr}`);
    }

    process.env.MAKEFILECHECK_CACHE_DIR = cache;
    const [cached, node, ratio] = compare(41, [BIN, ["status", "--root", root]], [process.execPath, ["-e", "0"]]);
    process.env.MAKEFILECHECK_CACHE_DIR = `${cache}/none`;
    const [plain, node2, plainRatio] = compare(41, [BIN, ["status", "--root", root]], [process.execPath, ["-e", "0"]]);
    // Last, as it changes the tree: a snippet touched just before each run, whose stamp changed within 2 s, so the memo is not used nor made again.
    process.env.MAKEFILECHECK_CACHE_DIR = cache;
    const touch = `touch ${root}/etc/exim4/sympl-local.d/00-main/10-general`;
    const [changed, node3, changedRatio] = compare(41, ["sh", ["-c", `${touch}; exec ${BIN} status --root ${root}`]], ["sh", ["-c", `${touch}; exec ${process.execPath} -e 0`]]);
    delete process.env.MAKEFILECHECK_CACHE_DIR;
    console.log(`status (installed tree, code cache) ${cached.toFixed(1)} ms, node -e 0 ${node.toFixed(1)} ms: ratio ${ratio.toFixed(2)} (budget ${BUDGET})`);
    console.log(`status (installed tree, code cache, a snippet just touched: no memo) ${changed.toFixed(1)} ms, node -e 0 ${node3.toFixed(1)} ms: ratio ${changedRatio.toFixed(2)} (for information)`);
    console.log(`status (installed tree, plain bundle) ${plain.toFixed(1)} ms, node -e 0 ${node2.toFixed(1)} ms: ratio ${plainRatio.toFixed(2)} (for information)`);
    return ratio <= BUDGET;
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  }
}
