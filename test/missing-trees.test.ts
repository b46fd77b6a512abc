/**
 * One exit-code rule for missing trees: `sync`, `drift` and `diff` refuse a
 * missing sympl-local.d, sympl.d or /etc/APP as the environment's (exit 3),
 * naming the first of them that is missing; `status` on a vanilla server
 * stays exit 0 with its next step.
 */
import { mkdirSync, rmSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { main } from "../src/cli.js";
import { inRoot, writeSymplTree } from "./fixtures/sympl.js";
import { withTempRoot } from "./support/temp-root.js";
import { captureOutput } from "./support/capture.js";

let root: string;
withTempRoot((r) => (root = r));

let out: string[];
let err: string[];
captureOutput((o, e) => ((out = o), (err = e)));

const layouts: Array<[string, () => void, RegExp]> = [
  ["no sympl-local.d (a vanilla server)", () => writeSymplTree(root, { apps: ["exim4"] }), /^\/etc\/exim4\/sympl-local\.d: missing — run `makefilecheck install`/],
  [
    "no sympl.d",
    () => mkdirSync(inRoot(root, "/etc/exim4/sympl-local.d"), { recursive: true }),
    /^\/etc\/exim4\/sympl\.d: missing or not a directory — reinstall the Sympl package/,
  ],
  ["no /etc/exim4 at all", () => mkdirSync(inRoot(root, "/etc"), { recursive: true }), /^\/etc\/exim4\/sympl\.d: missing or not a directory — /],
];

describe.each(layouts)("%s", (_name, build, said) => {
  it.each([["sync"], ["drift"], ["diff"], ["diff", "--base"]])("%s %s: exit 3, one line naming it", async (...command) => {
    build();
    expect(await main([...command.filter(Boolean), "--root", root, "-a", "exim4"])).toBe(3);
    expect(err).toHaveLength(1);
    expect(err[0]!.replace(/^makefilecheck: /, "")).toMatch(said);
  });
});

it("status on a vanilla server is unchanged: exit 0, next step install", async () => {
  writeSymplTree(root);
  rmSync(inRoot(root, "/etc/exim4/sympl-local.d"), { recursive: true, force: true });
  expect(await main(["status", "--root", root])).toBe(0);
  expect(out.join("")).toContain("next: makefilecheck install");
});
