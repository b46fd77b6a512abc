/**
 * The command line as a new user meets it: every command's --help with
 * examples, one wording per option, and the common mistakes answered in
 * one `makefilecheck: WHAT: problem — fix` line with exit 2.
 */
import { describe, expect, it } from "vitest";
import { COMMANDS, GLOBAL_OPTIONS, distance, parseCommandLine } from "../src/args.js";
import type { CommandName, CommandSpec } from "../src/args.js";
import { main } from "../src/cli.js";
import { helpText } from "../src/help.js";
import { captureOutput } from "./support/capture.js";

const NAMES = Object.keys(COMMANDS) as CommandName[];

let out: string[];
let err: string[];
captureOutput((o, e) => ((out = o), (err = e)));

describe("help", () => {
  it.each(NAMES)("`%s --help` shows its usage, its own options and one or two examples of itself", async (name) => {
    expect(await main([name, "--help"])).toBe(0);
    const text = out.join("");
    expect(text).toBe(helpText(name));
    expect(text).toMatch(new RegExp(`^Usage: makefilecheck ${name}\\b`));
    const examples = text.split("\nExamples:\n")[1]!.split("\n\n")[0]!.split("\n").filter((l) => l.startsWith("  makefilecheck"));
    expect(examples.length).toBeGreaterThanOrEqual(1);
    expect(examples.length).toBeLessThanOrEqual(2);
    for (const e of examples) expect(e).toMatch(new RegExp(`^  makefilecheck( |$)`));
    expect(err).toEqual([]);
  });

  it("--help and `help` show every command; `help sync` is `sync --help`", async () => {
    await main(["--help"]);
    const overview = out.join("");
    for (const name of NAMES) expect(overview).toMatch(new RegExp(`^  ${name}\\b`, "m"));
    out.length = 0;
    await main(["help"]);
    expect(out.join("")).toBe(overview);
    out.length = 0;
    await main(["help", "sync"]);
    expect(out.join("")).toBe(helpText("sync"));
  });

  it("options that take values show their placeholder; --make says it does not restart the daemon", () => {
    const text = helpText("sync", 200);
    expect(text).toMatch(/--take-upstream PATH +settle/);
    expect(text).toMatch(/--keep-local PATH +settle/);
    expect(text).not.toContain("[array]");
    expect(text).toMatch(/--make +also rebuild the built config: `make APP\.conf` .*not restarting the daemon/);
    expect(helpText("install", 200)).toMatch(/--set KEY=VALUE/);
    expect(helpText("watch", 200)).toMatch(/--debounce MS/);
    expect(helpText(null, 200)).toMatch(/-a, --app APP/);
  });

  it("one wording per option: an option shared by commands reads the same under each", () => {
    const wordings = new Map<string, Set<string>>();
    for (const name of NAMES) {
      if (name === "hooks") continue; // its --make and --only are about the triggers it writes
      for (const [option, o] of Object.entries((COMMANDS[name] as CommandSpec).options)) {
        // Keyed by the spelling help shows: --no-make (watch) is not --make (sync).
        const shown = ("shown" in o && o.shown) || option;
        wordings.set(shown, (wordings.get(shown) ?? new Set()).add(o.describe));
      }
    }
    for (const [option, texts] of wordings) expect([option, texts.size]).toEqual([option, 1]);
  });

  it("--dry-run and --make only where they mean something", () => {
    const taking = (option: string) => NAMES.filter((n) => option in (COMMANDS[n] as CommandSpec).options);
    for (const reader of ["status", "report", "check", "drift", "diff", "changes"] as const) {
      expect(taking("dry-run")).not.toContain(reader);
      expect(taking("make")).not.toContain(reader);
      expect(helpText(reader)).not.toMatch(/--dry-run|--make/);
    }
    expect(taking("dry-run")).toEqual(["use", "repair", "revert", "sync", "install", "watch", "hooks"]);
    expect(Object.keys(GLOBAL_OPTIONS)).not.toContain("dry-run");
  });
});

describe("mistakes: one line, exit 2", () => {
  const cases: Array<[string[], string]> = [
    [["stauts"], "stauts: unknown command — did you mean `status`? see makefilecheck --help"],
    [["snyc"], "snyc: unknown command — did you mean `sync`? see makefilecheck --help"],
    [["frobnicate"], "frobnicate: unknown command — see makefilecheck --help"],
    [["use"], "use: needs a MODE: local (sympl-local.d) or sympl (sympl.d) — e.g. makefilecheck use local --dry-run"],
    [["use", "lokal"], "use lokal: unknown MODE — did you mean `local`? give local (sympl-local.d) or sympl (sympl.d)"],
    [["sync", "--take-upstream"], "--take-upstream: needs a PATH — write --take-upstream PATH"],
    [["sync", "--keep-local", "--make"], "--keep-local: needs a PATH — write --keep-local PATH"],
    [["watch", "--debounce", "abc"], "--debounce abc: not a whole number — write e.g. --debounce 2000"],
    [["-a", "postfix"], "-a postfix: not one of exim4 or dovecot — write -a exim4"],
    [["status", "--make"], "--make: not an option of status — use, repair, sync, install, watch or hooks take it; see makefilecheck status --help"],
    [["drift", "--dry-run"], "--dry-run: not an option of drift — use, repair, revert, sync, install, watch or hooks take it; see makefilecheck drift --help"],
    [["sync", "--dryrun"], "--dryrun: unknown option — did you mean `--dry-run`? see makefilecheck sync --help"],
    [["sync", "--no-make"], "--no-make: not an option of sync — leave it out: --make is off unless given"],
    [["diff", "a", "b"], "b: unexpected argument — diff takes one PATH; see makefilecheck diff --help"],
    [["status", "now"], "now: unexpected argument — status takes no arguments; see makefilecheck status --help"],
    [["--json=yes"], "--json: takes no value — write --json alone"],
    [["--root", "/a", "--root", "/b"], "--root: given twice — give it once"],
    [["hooks", "--install", "--remove"], "--install, --remove: asked for both — give one of them"],
    [["hooks", "--only", "ap"], "--only ap: not one of apt or systemd — did you mean `apt`? write --only apt"],
  ];
  it.each(cases)("%j", async (argv, line) => {
    expect(await main(argv)).toBe(2);
    expect(err.join("")).toBe(`makefilecheck: ${line}\n`);
    expect(out).toEqual([]);
  });
});

describe("parsing", () => {
  it("gives the commands the options they had: defaults, negations, repeats, the old spellings", () => {
    expect(parseCommandLine([])).toMatchObject({ kind: "run", command: "status", writes: false, args: { _: ["status"], root: "/", app: [], color: true } });
    const sync = parseCommandLine(["sync", "--keep-local", "a/b", "--keep-local=c/d", "-a", "exim4", "--no-color", "--dry-run"]);
    expect(sync).toMatchObject({ command: "sync", writes: true, args: { "keep-local": ["a/b", "c/d"], "take-upstream": [], app: ["exim4"], color: false, "dry-run": true, make: false } });
    expect(parseCommandLine(["local", "--no-check"])).toMatchObject({ command: "use", args: { mode: "local", check: false } });
    expect(parseCommandLine(["watch", "--debounce", "500"])).toMatchObject({ args: { debounce: 500 } });
    // The watcher is a trigger: it puts the changes back in force unless told not to.
    expect(parseCommandLine(["watch"])).toMatchObject({ args: { make: true } });
    expect(parseCommandLine(["watch", "--no-make"])).toMatchObject({ args: { make: false } });
    expect(parseCommandLine(["hooks"])).toMatchObject({ writes: false });
    expect(parseCommandLine(["hooks", "--install"])).toMatchObject({ writes: true });
    expect(parseCommandLine(["--root", "/x", "diff", "00-main/10-general"])).toMatchObject({ command: "diff", args: { path: "00-main/10-general", root: "/x" } });
  });

  it.each([
    [["use", "sympl", "--no-check", "--make", "-a", "exim4"], { mode: "sympl", check: false, make: true, app: ["exim4"] }],
    [["install", "--set", "A=1", "--set", "B=2", "--only", "ch3"], { set: ["A=1", "B=2"], only: "ch3", check: true }],
    [["watch", "--debounce", "500"], { debounce: 500 }],
    [["diff", "00-main/10-general", "--base"], { path: "00-main/10-general", base: true }],
    [["sympl"], { mode: "sympl" }],
  ])("reads %j as the table says", (argv, args) => {
    expect(parseCommandLine(argv)).toMatchObject({ kind: "run", args });
  });

  it.each([
    [["--dry-run", "use", "sympl"], ["use", "sympl", "--dry-run"]],
    [["--json", "sync"], ["sync", "--json"]],
    [["-a", "exim4", "revert", "--force"], ["revert", "--force", "-a", "exim4"]],
    [["--no-check", "-q", "local"], ["local", "--no-check", "-q"]],
    [["--keep-local", "a/b", "sync"], ["sync", "--keep-local", "a/b"]],
  ])("an option before the command, %j, reads as after it", (before, after) => {
    const parsed = parseCommandLine(before);
    expect(parsed).toEqual(parseCommandLine(after));
    expect(parsed.kind).toBe("run");
  });

  it("an option before the command is still refused where that command does not take it", async () => {
    expect(await main(["--dry-run", "status"])).toBe(2);
    expect(err.join("")).toBe("makefilecheck: --dry-run: not an option of status — use, repair, revert, sync, install, watch or hooks take it; see makefilecheck status --help\n");
  });

  it("did-you-mean counts a swap of two letters as one step", () => {
    expect(distance("stauts", "status")).toBe(1);
    expect(distance("sync", "sync")).toBe(0);
    expect(distance("repiar", "repair")).toBe(1);
  });

});
