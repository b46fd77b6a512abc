// What status says next, and what -q still says: silent when all is well,
// one stderr line per problem (a conflict, a damage, a built config not in
// force, a failed config test), with the step that settles it.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { appPaths } from "../src/server-layout.js";
import { damagePlainFile, inRoot, UPSTREAM_TREES, upgradeUpstream } from "./fixtures/sympl.js";
import { makeConf } from "./support/built.js";
import { managedTree } from "./support/makefilecheck-trees.js";
import { withTempRoot } from "./support/temp-root.js";
import { BIN, cli } from "./watch-child.js";

let root: string;
withTempRoot((r) => (root = r));

/** Runs the binary on the fixture root, as `uid` when given. */
function run(args: string[], uid?: number): { code: number | null; stdout: string; stderr: string } {
  const argv = [process.execPath, BIN, ...args, "--root", root];
  const r = uid === undefined ? spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" }) : spawnSync("setpriv", [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", ...argv], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A local-mode server with a baseline and both configs built: all is well. */
async function wellServer(): Promise<void> {
  await managedTree(root);
  cli(root, ["sync", "--adopt"]);
  for (const app of ["exim4", "dovecot"] as const) makeConf(root, app);
}

const REL = Object.keys(UPSTREAM_TREES.exim4)[1]!;

describe("status next steps and -q", () => {
  it("-q is silent when all is well; after a conflict it says how to settle it, one line on stderr", async () => {
    await wellServer();
    expect(run(["status", "-q"])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(run(["sync", "-q"])).toEqual({ code: 0, stdout: "", stderr: "" });

    const local = inRoot(root, `${appPaths("exim4").local}/${REL}`);
    writeFileSync(local, `${readFileSync(local, "utf8")}# mine\n`);
    upgradeUpstream(root, "exim4", { modify: { [REL]: `${UPSTREAM_TREES.exim4[REL]}# theirs\n` } });
    const synced = run(["sync", "-q", "-a", "exim4"]);
    expect(synced.code).toBe(1);
    expect(synced.stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(new RegExp(`^exim4: CONFLICT /etc/exim4/sympl-local.d/${REL}: .*\\.sympl-new — merge it by hand and delete it, or .*--keep-local ${REL}.*--take-upstream ${REL}`))]);

    const human = run(["status", "-a", "exim4"]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`next: merge /etc/exim4/sympl-local.d/${REL}.sympl-new into /etc/exim4/sympl-local.d/${REL} by hand and delete it, or \`makefilecheck sync -a exim4 --keep-local ${REL}\` or \`--take-upstream ${REL}\``);
    const quiet = run(["status", "-q", "-a", "exim4"]);
    expect(quiet.stdout).toBe("");
    // The drift (the waiting file) and the built config, stale now that the local file changed: one line each.
    expect(quiet.stderr.trimEnd().split("\n")).toHaveLength(2);
    expect(quiet.stderr).toMatch(/^exim4: drift: .*1 waiting.* — next: merge /m);
  });

  it("-q: a damage and a built config not in force are one line each", async () => {
    await wellServer();
    damagePlainFile(root, "exim4");
    makeConf(root, "exim4"); // the postinst's build, from sympl.d
    const quiet = run(["status", "-q", "-a", "exim4"]);
    expect(quiet.code).toBe(1);
    expect(quiet.stdout).toBe("");
    const lines = quiet.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^exim4: damage: .* — next: makefilecheck repair$/);
    expect(lines[1]).toMatch(/^exim4: built config stale, .*not in force/);
  });

  it("a 60-sni that became a directory in sympl-local.d is reported, exit 1", async () => {
    await wellServer();
    const sni = inRoot(root, `${appPaths("dovecot").local}/10-main/60-sni`);
    unlinkSync(sni);
    mkdirSync(sni);
    writeFileSync(`${sni}/certs`, "# someone's\n");
    const r = run(["status", "-a", "dovecot"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/problem: \/etc\/dovecot\/sympl-local\.d\/10-main\/60-sni is a directory, not a link to \/etc\/dovecot\/sympl\.d\/10-main\/60-sni/);
    expect(r.stdout).toMatch(/next: move \/etc\/dovecot\/sympl-local\.d\/10-main\/60-sni aside, then `makefilecheck sync -a dovecot --take-upstream 10-main\/60-sni`/);
  });

  const asNobody = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "-e", "0"]).status === 0;
  it.skipIf(!asNobody)("state that cannot be read (not root) is said in the human output, not shown as clean", async () => {
    await wellServer();
    chmodSync(inRoot(root, appPaths("exim4").local), 0o700);
    const r = run(["status", "-a", "exim4"], 65534);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/drift: NOT READ: .*permission denied/);
    expect(r.stdout).not.toMatch(/drift: clean/);
  });
});
