/**
 * Real processes killed: `bin/makefilecheck install` is started and sent
 * SIGKILL after a seeded random delay (the seed is printed; set
 * MAKEFILECHECK_KILL_SEED to replay a run), then the next install must find
 * a Makefile that resolves and reach the end state of a run never killed.
 * It covers what the in-process fault system cannot: a death between any
 * two system calls, with the lock and temp files of a dead process left.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { makeRoot, writeSymplTree } from "./fixtures/sympl.js";
import { missingBinaries } from "./support/daemons.js";
import { endState } from "./support/end-state.js";

const BIN = fileURLToPath(new URL("../bin/makefilecheck", import.meta.url));
const built = existsSync(fileURLToPath(new URL("../dist/makefilecheck.cjs", import.meta.url)));
const ARGS = ["install", "--set", "AUTO_IMAP_PORT=1143", "--set", "AUTO_IMAPS_PORT=1993"];

/** A small seeded generator (mulberry32), so a failing run can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function install(root: string): number | null {
  return spawnSync(BIN, ["--root", root, ...ARGS], { encoding: "utf8" }).status;
}

/** Starts install and kills it with SIGKILL after `ms`. */
async function killedInstall(root: string, ms: number): Promise<void> {
  const child = spawn(BIN, ["--root", root, ...ARGS], { stdio: "ignore" });
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  await new Promise((r) => child.on("exit", r));
  clearTimeout(timer);
}

describe.skipIf(!built || Boolean(missingBinaries("exim4", "dovecot")))("SIGKILL at seeded random points (bin/)", () => {
  it("the next install reaches the end state of a run never killed", async () => {
    const seed = Number(process.env.MAKEFILECHECK_KILL_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`kill test seed: ${seed} (MAKEFILECHECK_KILL_SEED=${seed} replays it)`);
    const next = random(seed);
    const ref = makeRoot();
    writeSymplTree(ref);
    const started = Date.now();
    const code = install(ref);
    const span = Date.now() - started;
    const want = endState(ref).join("\n");
    rmSync(ref, { recursive: true, force: true });
    let midway = 0;
    for (let i = 0; i < 6; i += 1) {
      const root = makeRoot();
      writeSymplTree(root);
      // Start-up and the config tests fill most of the run; the writes come at its end.
      const at = Math.floor(span * (0.5 + 0.5 * next()));
      await killedInstall(root, at);
      if (existsSync(join(root, "var/lib/makefilecheck/journal.json"))) midway += 1;
      for (const app of ["exim4", "dovecot"]) expect(readFileSync(join(root, `etc/${app}/Makefile`), "utf8"), `kill at ${at} ms`).toContain("snippets_dir");
      expect(install(root), `kill at ${at} ms (seed ${seed})`).toBe(code);
      expect(endState(root).join("\n"), `kill at ${at} ms (seed ${seed})`).toBe(want);
      rmSync(root, { recursive: true, force: true });
    }
    console.log(`kill test: 6 kills, ${midway} of them while a plan was being applied (a journal was left)`);
  }, 300_000);
});
