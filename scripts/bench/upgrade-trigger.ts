/**
 * Printed, no budget: what makefilecheck's dpkg trigger costs a Sympl
 * upgrade, on a bookworm root with Debian's Node 18 prepared as the route
 * matrix prepares it (`.ci/upgrade-routes --prepare`): `sympl-mail-test`
 * 1.0, `install --make`, `hooks --install`. Each round downgrades to 1.0
 * (untimed), then times `dpkg -i` of 2.0 alternately with its triggers
 * processed in the run and deferred (`--no-triggers`, processed untimed
 * afterwards): the difference of the medians is the time the trigger adds
 * to a package run. From the runs with the trigger: the time from 2.0's
 * changed snippet arriving (its ctime in sympl.d, when dpkg put it in
 * place) to the built exim4.conf holding the change (the built file's
 * ctime, when it was moved into place). A changed snippet, not 2.0's new
 * one: dpkg keeps an obsolete conffile on a downgrade, so the new one
 * arrives only in the first round. Needs root and BOOKWORM_BASE (a pristine root from
 * `.ci/base-root bookworm`); skips with the reason otherwise.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { median } from "../timing.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const ROUNDS = 5;
const DEBS = "/srv/sympl-debs";
const CHANGED_SNIPPET = "/etc/exim4/sympl.d/00-main/10-general";
const CHANGED_LINE = "message_size_limit = 64M";

/** Runs `command` in `root` as a root shell would; throws with its output when it fails. */
function inside(root: string, command: string): string {
  const run = spawnSync("chroot", [root, "/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive", "/bin/sh", "-c", command], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`bench: ${command} failed in ${root}:\n${run.stdout}${run.stderr}`);
  return run.stdout;
}

/** Wall time of `command` in `root`, in milliseconds. */
function timed(root: string, command: string): number {
  const start = process.hrtime.bigint();
  inside(root, command);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** The ctime of a file in `root`, in seconds with its fraction. */
function ctime(root: string, file: string): number {
  return Number(inside(root, `stat -c %.9Z ${file}`));
}

/** Why this benchmark cannot run here, or null. */
function unavailable(): string | null {
  if (process.getuid?.() !== 0) return "needs root (chroot, dpkg)";
  if (!process.env.BOOKWORM_BASE) return "set BOOKWORM_BASE to a pristine bookworm root (.ci/base-root bookworm) to time the trigger";
  return null;
}

/** Prints the trigger's figures; always true (no budget). */
export async function run(): Promise<boolean> {
  const why = unavailable();
  if (why) {
    console.log(`skipped: ${why}`);
    return true;
  }
  const work = mkdtempSync("/var/tmp/makefilecheck-bench-trigger-");
  const root = `${work}/root`;
  try {
    const prepare = spawnSync("bash", [".ci/upgrade-routes", "--prepare", root], { cwd: REPO, encoding: "utf8" });
    if (prepare.status !== 0) throw new Error(`bench: .ci/upgrade-routes --prepare failed:\n${prepare.stdout}${prepare.stderr}`);
    const withTrigger: number[] = [];
    const deferred: number[] = [];
    const arrival: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      for (const trigger of [true, false]) {
        inside(root, `dpkg -i ${DEBS}/sympl-mail-test_1.0_all.deb`);
        const install = `dpkg -i ${trigger ? "" : "--no-triggers "}${DEBS}/sympl-mail-test_2.0_all.deb`;
        (trigger ? withTrigger : deferred).push(timed(root, install));
        if (!trigger) {
          inside(root, "dpkg --triggers-only --pending");
          continue;
        }
        if (!readFileSync(`${root}/etc/exim4/exim4.conf`, "utf8").includes(CHANGED_LINE)) throw new Error("bench: the built exim4.conf lacks 2.0's changed snippet after dpkg -i returned");
        arrival.push((ctime(root, "/etc/exim4/exim4.conf") - ctime(root, CHANGED_SNIPPET)) * 1000);
      }
    }
    const node = inside(root, "node --version").trim();
    const added = median(withTrigger) - median(deferred);
    console.log(`dpkg -i of a Sympl release: ${median(withTrigger).toFixed(0)} ms with makefilecheck's trigger, ${median(deferred).toFixed(0)} ms with triggers deferred: the trigger adds ${added.toFixed(0)} ms (medians of ${ROUNDS}, Debian's Node ${node})`);
    console.log(`a changed upstream snippet's arrival -> the built exim4.conf holding it: ${median(arrival).toFixed(0)} ms (median of ${ROUNDS}; max ${Math.max(...arrival).toFixed(0)} ms)`);
    return true;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
