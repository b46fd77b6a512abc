import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { describe, expect, it } from "vitest";
import { assembleConfig, runConfigTest } from "../src/tree/configtest.js";
import { RealSystem } from "../src/system/real.js";
import type { RunOptions, RunResult } from "../src/system/system.js";
import type { HostPath } from "../src/paths.js";
import { missingBinaries } from "./support/daemons.js";
import { caninstallTree } from "./support/makefilecheck-trees.js";
import { assembleConfig as fixtureAssemble, hashTree, inRoot, setupLegacy } from "./fixtures/sympl.js";
import { withTempRoot } from "./support/temp-root.js";

let root: string;
withTempRoot((r) => (root = r));

const at = (server: string) => inRoot(root, server);

/** The non-comment lines of an assembled config: banners differ, snippet order and content must not. */
const bodies = (config: string) => config.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));

/** A RealSystem that notes the mode and owner of each scratch file (and its directory) while a daemon reads it. */
class ScratchWatch extends RealSystem {
  readonly seen: string[] = [];
  override withScratchFile<T>(name: string, data: Buffer | string, use: (hostPath: HostPath) => Promise<T>): Promise<T> {
    return super.withScratchFile(name, data, (file) => {
      const mode = (path: string) => {
        const st = statSync(path);
        return `${(st.mode & 0o777).toString(8)} ${st.uid}:${st.gid}`;
      };
      this.seen.push(`dir ${mode(dirname(file))}, file ${mode(file)}`);
      return use(file);
    });
  }
}

/** A System whose daemon binaries are not installed. */
class NoDaemons extends RealSystem {
  override run(cmd: string, args: string[], options?: RunOptions): Promise<RunResult> {
    return super.run(`/nonexistent${cmd}`, args, options);
  }
}

describe("assembleConfig", () => {
  it("concatenates the local tree in the Makefile's order, like the fixture's make-equivalent", () => {
    caninstallTree(root);
    const sys = new RealSystem(root);
    for (const app of ["exim4", "dovecot"] as const) {
      expect(bodies(assembleConfig(sys, app, "local"))).toEqual(bodies(fixtureAssemble(root, app, "sympl-local.d")));
    }
  });

  it("reads the old tooling's absolute 60-sni link inside the root", () => {
    setupLegacy(root, "dovecot");
    appendFileSync(at("/etc/dovecot/sympl.d/10-main/60-sni"), "# marker-in-root\n");
    const config = assembleConfig(new RealSystem(root), "dovecot", "local");
    expect(config).toContain("# marker-in-root\n");
  });

  it("leaves out dot-named and underscore files, and links in the upstream tree", () => {
    caninstallTree(root, ["exim4"]);
    writeFileSync(at("/etc/exim4/sympl-local.d/00-main/10-x.dpkg-dist"), "dpkg_dist_marker = 1\n");
    writeFileSync(at("/etc/exim4/sympl-local.d/00-main/10_x"), "underscore_marker = 1\n");
    writeFileSync(at("/etc/exim4/linked-marker"), "linked_marker = 1\n");
    symlinkSync("../../linked-marker", at("/etc/exim4/sympl.d/00-main/11-linked"));
    symlinkSync("../../linked-marker", at("/etc/exim4/sympl-local.d/00-main/11-linked"));
    const sys = new RealSystem(root);
    const local = assembleConfig(sys, "exim4", "local");
    expect(local).not.toContain("dpkg_dist_marker");
    expect(local).not.toContain("underscore_marker");
    expect(local).toContain("linked_marker");
    expect(assembleConfig(sys, "exim4", "sympl")).not.toContain("linked_marker");
  });
});

describe("runConfigTest", () => {
  it("is skipped, saying why, when the daemon binary is missing", async () => {
    caninstallTree(root, ["exim4"]);
    const result = await runConfigTest(new NoDaemons(root), "exim4", "local");
    expect(result).toEqual({ status: "skipped", output: "/usr/sbin/exim4 is not installed" });
  });

  const skip = missingBinaries("exim4", "dovecot");
  it.skipIf(skip)("passes a vanilla tree and fails a broken one with the daemon's words (both apps)", async () => {
    caninstallTree(root);
    const sys = new RealSystem(root);
    expect((await runConfigTest(sys, "exim4", "sympl")).status).toBe("passed");
    expect((await runConfigTest(sys, "dovecot", "local")).status).toBe("passed");
    writeFileSync(at("/etc/dovecot/sympl-local.d/10-main/99-broken"), "no_such_dovecot_setting = 1\n");
    const failed = await runConfigTest(sys, "dovecot", "local");
    expect(failed.status).toBe("failed");
    expect(failed.output).toContain("no_such_dovecot_setting");
    // The upstream tree is untouched by the local breakage.
    expect((await runConfigTest(sys, "dovecot", "sympl")).status).toBe("passed");
  });

  it.skipIf(skip)("tests in a scratch only root can read (0700 directory, 0600 file), which both daemons, run by root, accept", async () => {
    caninstallTree(root);
    const sys = new ScratchWatch(root);
    expect((await runConfigTest(sys, "exim4", "local")).status).toBe("passed");
    expect((await runConfigTest(sys, "dovecot", "local")).status).toBe("passed");
    expect(sys.seen).toEqual(["dir 700 0:0, file 600 0:0", "dir 700 0:0, file 600 0:0"]);
  });

  it.skipIf(skip)("puts its scratch copy under /run/makefilecheck (0700), where the next test removes a killed run's, and nothing in the tree", async () => {
    caninstallTree(root);
    const dead = spawnSync("true").pid!;
    const live = spawn("sleep", ["60"]);
    const left = `/run/makefilecheck/.scratch.makefilecheck-tmp-${dead}-1`;
    const running = `/run/makefilecheck/.scratch.makefilecheck-tmp-${live.pid}-1`;
    try {
      for (const dir of [left, running]) {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        writeFileSync(`${dir}/exim4.conf.tmp`, "the assembled config\n");
      }
      const before = hashTree(root);
      const sys = new ScratchWatch(root);
      expect((await runConfigTest(sys, "exim4", "local")).status).toBe("passed");
      expect(existsSync(left)).toBe(false);
      expect(existsSync(running)).toBe(true);
      expect(statSync("/run/makefilecheck").mode & 0o777).toBe(0o700);
      expect(hashTree(root)).toBe(before);
    } finally {
      live.kill();
      rmSync(running, { recursive: true, force: true });
    }
  });
});
