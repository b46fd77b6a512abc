/**
 * Colour: status words on a terminal, plain text for pipes, files, cron
 * and journald, and never under --no-color or NO_COLOR.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { paint, wantsColor } from "../src/render.js";
import { writeSymplTree } from "./fixtures/sympl.js";
import { withTempRoot } from "./support/temp-root.js";

const BIN = fileURLToPath(new URL("../bin/makefilecheck", import.meta.url));
const built = existsSync(fileURLToPath(new URL("../dist/makefilecheck.cjs", import.meta.url)));
const ESC = "\x1b[";

let root: string;
withTempRoot((r) => (root = r));

describe("the colour rule", () => {
  it.each([
    [true, {}, true, true],
    [true, {}, false, false],
    [false, {}, true, false],
    [true, { NO_COLOR: "1" }, true, false],
    [true, { NO_COLOR: "" }, true, true],
  ])("--color=%s, env %j, TTY %s: %s", (flag, env, tty, expected) => {
    expect(wantsColor(flag, env, () => tty)).toBe(expected);
  });

  it("colours the words that need the admin, and only those", () => {
    expect(paint("exim4: fatal (recorded: none, builds from: unknown)")).toBe(`exim4: ${ESC}1;31mfatal${ESC}0m (recorded: none, builds from: unknown)`);
    expect(paint("exim4: local (recorded: local, builds from: /etc/exim4/sympl-local.d)")).toContain(`${ESC}32mlocal${ESC}0m (recorded`);
    expect(paint("  next: nothing to do")).toBe(`  next: ${ESC}32mnothing to do${ESC}0m`);
    expect(paint("  next: makefilecheck repair")).toBe(`  next: ${ESC}33mmakefilecheck repair${ESC}0m`);
    expect(paint("sync: CONFLICT: exim4: 00-main/10-general")).toContain(`${ESC}1;31mCONFLICT${ESC}0m`);
    expect(paint("repair: FAILED: /etc/exim4: missing")).toContain(`${ESC}1;31mFAILED${ESC}0m`);
    expect(paint("    UU 00-main/10-general")).toBe(`    ${ESC}1;31mUU${ESC}0m 00-main/10-general`);
    expect(paint("    M  00-main/10-general")).toBe("    M  00-main/10-general");
  });
});

/** `status` run as the admin would: on a terminal (through script(1)) or into a pipe. */
function status(how: "tty" | "pipe", extra: string[] = [], env: Record<string, string> = {}): string {
  const argv = [BIN, "--root", root, "status", ...extra];
  const r =
    how === "pipe"
      ? spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", env: { ...process.env, ...env } })
      : spawnSync("script", ["-qec", argv.join(" "), "/dev/null"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "", ...env } });
  return r.stdout;
}

const hasScript = spawnSync("script", ["-qec", "true", "/dev/null"]).status === 0;

describe.skipIf(!built || !hasScript)("status through the built binary", () => {
  it("is coloured on a terminal, plain into a pipe, under --no-color and under NO_COLOR", () => {
    writeSymplTree(root);
    expect(status("tty")).toContain(`${ESC}33mmakefilecheck install${ESC}0m`);
    expect(status("pipe")).toContain("next: makefilecheck install");
    expect(status("pipe")).not.toContain(ESC);
    expect(status("tty", ["--no-color"])).not.toContain(ESC);
    expect(status("tty", [], { NO_COLOR: "1" })).not.toContain(ESC);
  });
});
