/**
 * Every command a message of ours suggests works: for each state that
 * makes makefilecheck suggest commands (a sync conflict, a diverged file
 * of an adopted tree, status's `next:` lines), every suggested
 * `makefilecheck …` command is run through bin/makefilecheck on a copy of
 * the root as it was when the message was printed, and must exit 0. A
 * suggestion that cannot pass (taking upstream without the installed
 * changes' edits, which the config test refuses) fails here.
 */
import { spawnSync } from "node:child_process";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { inRoot, makeRoot, upgradeUpstream, writeSymplTree } from "./fixtures/sympl.js";

const BIN = fileURLToPath(new URL("../bin/makefilecheck", import.meta.url));
const OPTIONS = "00-main/60-general-options";
const LOCAL_OPTIONS = `/etc/exim4/sympl-local.d/${OPTIONS}`;

let root = "";
beforeEach(() => {
  root = makeRoot();
  writeSymplTree(root);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function cli(at: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, "--root", at, "--no-color", ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/**
 * The makefilecheck commands `text` suggests, as argument lists: each
 * `makefilecheck …` in backticks; a backticked `--option PATH` right after
 * one, the same command with that option instead of its last one (`… --keep-local P`
 * or `--take-upstream P`); and a `next:` line that starts with a command.
 */
export function suggestions(text: string): string[][] {
  const out: string[][] = [];
  for (const line of text.split("\n")) {
    let last: string[] | null = null;
    for (const [, quoted] of line.matchAll(/`([^`]+)`/g)) {
      const words = quoted!.trim().split(/\s+/);
      if (words[0] === "makefilecheck") {
        last = words.slice(1);
        out.push(last);
      } else if (words[0]?.startsWith("--") && last) {
        const cut = last.map((w) => w.startsWith("--")).lastIndexOf(true);
        out.push([...last.slice(0, cut < 0 ? last.length : cut), ...words]);
      }
    }
    const next = /^\s*next: (makefilecheck(?: [a-z0-9-]+)+)/.exec(line);
    if (next) out.push(next[1]!.split(" ").slice(1));
  }
  return out;
}

/** Runs every suggestion of `text` on its own copy of the root; each must exit 0. */
function runEach(text: string): string[] {
  const said = suggestions(text);
  for (const args of said) {
    const copy = makeRoot();
    try {
      cpSync(root, copy, { recursive: true, verbatimSymlinks: true });
      const r = cli(copy, ...args);
      expect(r.code, `makefilecheck ${args.join(" ")}, suggested by:\n${text}\nsaid:\n${r.out}`).toBe(0);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  }
  return said.map((a) => a.join(" "));
}

describe("the parser of suggestions", () => {
  it("reads full commands, alternatives and next: lines", () => {
    const text = [
      "exim4: CONFLICT x — merge it by hand and delete it, or `makefilecheck sync -a exim4 --keep-local 00-main/a` or `--take-upstream 00-main/a`",
      "  next: makefilecheck use local (or use sympl) to choose the tree",
      "  next: cd /etc/exim4 && make",
    ].join("\n");
    expect(suggestions(text)).toEqual([
      ["sync", "-a", "exim4", "--keep-local", "00-main/a"],
      ["sync", "-a", "exim4", "--take-upstream", "00-main/a"],
      ["use", "local"],
    ]);
  });
});

describe("every suggested command exits 0 in the state that suggested it", () => {
  /** Installs the default changes (ch4 among them; `only` narrows them) and returns the text of 60-general-options as installed. */
  function installed(...only: string[]): string {
    const r = cli(root, "install", ...only);
    expect(r.code, r.out).toBe(0);
    return readFileSync(inRoot(root, LOCAL_OPTIONS), "utf8");
  }

  it("a sync conflict in 00-main/60-general-options while ch4 is installed: sync, sync -q and status", () => {
    const mine = installed();
    expect(mine).toMatch(/^# rfc1413_hosts =/m);
    writeFileSync(inRoot(root, LOCAL_OPTIONS), mine.replace("timeout_frozen_after = 7d", "timeout_frozen_after = 3d"));
    const up = readFileSync(inRoot(root, `/etc/exim4/sympl.d/${OPTIONS}`), "utf8");
    upgradeUpstream(root, "exim4", { modify: { [OPTIONS]: up.replace("timeout_frozen_after = 7d", "timeout_frozen_after = 5d") } });
    const sync = cli(root, "sync", "-a", "exim4");
    expect(sync.code, sync.out).toBe(1);
    expect(sync.out).toContain(`CONFLICT    ${OPTIONS}`);
    const ran = [...runEach(sync.out), ...runEach(cli(root, "sync", "-a", "exim4", "-q").out), ...runEach(cli(root, "status", "-a", "exim4").out)];
    expect(ran).toContain(`sync -a exim4 --take-upstream ${OPTIONS}`);
    expect(ran).toContain(`sync -a exim4 --keep-local ${OPTIONS}`);
  });

  it("taking upstream keeps ch4's edit: the taken file comments out upstream's rfc1413 options", () => {
    const mine = installed();
    writeFileSync(inRoot(root, LOCAL_OPTIONS), mine.replace("timeout_frozen_after = 7d", "timeout_frozen_after = 3d"));
    const up = readFileSync(inRoot(root, `/etc/exim4/sympl.d/${OPTIONS}`), "utf8");
    upgradeUpstream(root, "exim4", { modify: { [OPTIONS]: up.replace("timeout_frozen_after = 7d", "timeout_frozen_after = 5d") } });
    expect(cli(root, "sync", "-a", "exim4").code).toBe(1);
    const r = cli(root, "sync", "-a", "exim4", "--take-upstream", OPTIONS);
    expect(r.code, r.out).toBe(0);
    const taken = readFileSync(inRoot(root, LOCAL_OPTIONS), "utf8");
    expect(taken).toContain("timeout_frozen_after = 5d");
    expect(taken).not.toMatch(/^rfc1413_/m);
    expect(taken).toMatch(/^# rfc1413_hosts =/m);
  });

  it("a diverged file of an adopted tree (no baseline) while ch4 is installed: sync and status", () => {
    // ch4 alone: an adoption takes the files other changes put in place of upstream's for diverged ones, a problem of its own.
    const mine = installed("--only", "ch4");
    rmSync(inRoot(root, "/var/lib/makefilecheck/baseline/exim4"), { recursive: true });
    writeFileSync(inRoot(root, LOCAL_OPTIONS), mine.replace("timeout_frozen_after = 7d", "timeout_frozen_after = 3d"));
    const sync = cli(root, "sync", "-a", "exim4");
    expect(sync.code, sync.out).toBe(1);
    const ran = [...runEach(sync.out), ...runEach(cli(root, "status", "-a", "exim4").out)];
    expect(ran).toContain(`sync -a exim4 --take-upstream ${OPTIONS}`);
  });

  it("status on a vanilla tree, after an upgrade, and after damage", () => {
    expect(runEach(cli(root, "status").out)).toContain("install");
    installed();
    const up = readFileSync(inRoot(root, "/etc/exim4/sympl.d/00-main/10-general"), "utf8");
    upgradeUpstream(root, "exim4", { modify: { "00-main/10-general": `# newer\n${up}` } });
    expect(runEach(cli(root, "status").out)).toContain("sync");
    rmSync(inRoot(root, "/etc/dovecot/Makefile"));
    writeFileSync(inRoot(root, "/etc/dovecot/Makefile"), readFileSync(inRoot(root, "/etc/dovecot/Makefile.sympl")));
    expect(runEach(cli(root, "status").out)).toContain("repair");
  });
});
