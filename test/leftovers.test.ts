/**
 * Temp files and links that atomic writes leave when their run dies
 * between creating and renaming them (`.NAME.makefilecheck-tmp-PID-N`) are
 * removed by the next mutating run, in every directory we write, but only
 * those whose process is gone, and never an admin's file of a similar name.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { repair } from "../src/makefilecheck/commands.js";
import { inRoot } from "./fixtures/sympl.js";
import { testContext } from "./support/context.js";
import { managedTree } from "./support/makefilecheck-trees.js";
import { withTempRoot } from "./support/temp-root.js";

let root: string;
withTempRoot((r) => (root = r));

const present = (server: string) => {
  try {
    lstatSync(inRoot(root, server));
    return true;
  } catch {
    return false;
  }
};

describe("leftover temp files", () => {
  it("the next run removes those of dead runs, in every directory we write (/etc/APP, sympl-local.d, the state dir, /var/log, apt and systemd), and no others", async () => {
    await managedTree(root);
    const dead = spawnSync("true").pid!;
    const live = spawn("sleep", ["60"]);
    try {
      const gone = [
        `/etc/exim4/.Makefile.makefilecheck-tmp-${dead}-3`,
        `/etc/exim4/sympl-local.d/00-main/.10-general.makefilecheck-tmp-${dead}-7`,
        `/var/lib/makefilecheck/baseline/exim4/objects/.abc.makefilecheck-tmp-${dead}-9`,
        `/etc/dovecot/.Makefile.local.makefilecheck-tmp-${dead}-1`,
        `/var/log/.makefilecheck.log.makefilecheck-tmp-${dead}-2`,
        `/etc/apt/apt.conf.d/.80makefilecheck.makefilecheck-tmp-${dead}-1`,
        `/etc/systemd/system/.makefilecheck-upgrade.path.makefilecheck-tmp-${dead}-1`,
        `/etc/systemd/system/makefilecheck-upgrade.service.d/.makefilecheck.conf.makefilecheck-tmp-${dead}-4`,
      ];
      const kept = [
        `/etc/exim4/.Makefile.makefilecheck-tmp-${live.pid}-3`,
        "/etc/exim4/sympl-local.d/00-main/.10-general.makefilecheck-tmp-notapid-1",
        "/etc/exim4/sympl-local.d/00-main/10-general.dpkg-dist",
        "/etc/exim4/sympl-local.d/.keepme.mfc-999999-1",
        "/var/log/.keepme.mfc-999999-1",
      ];
      symlinkSync("Makefile.local", inRoot(root, gone[0]!)); // a dangling temp link, as a symlink swap leaves it
      for (const p of [...gone.slice(1), ...kept.slice(1)]) {
        mkdirSync(inRoot(root, p.replace(/\/[^/]+$/, "")), { recursive: true });
        writeFileSync(inRoot(root, p), "half\n");
      }
      symlinkSync("Makefile.local", inRoot(root, kept[0]!));
      const ctx = testContext(root);
      expect((await repair(ctx, { _: [], check: false })).code).toBe(0);
      for (const p of gone) expect(present(p), p).toBe(false);
      for (const p of kept) expect(present(p), p).toBe(true);
      expect(ctx.notes.join("\n")).toMatch(/removed 8 temp file\(s\) an earlier run left behind/);
      expect(existsSync(inRoot(root, "/etc/exim4/Makefile"))).toBe(true);
    } finally {
      live.kill();
    }
  });

  it("a dry run removes nothing", async () => {
    await managedTree(root);
    const dead = spawnSync("true").pid!;
    writeFileSync(inRoot(root, `/etc/exim4/.Makefile.local.makefilecheck-tmp-${dead}-1`), "half\n");
    await repair(testContext(root, { dryRun: true }), { _: [], check: false });
    expect(present(`/etc/exim4/.Makefile.local.makefilecheck-tmp-${dead}-1`)).toBe(true);
  });
});
