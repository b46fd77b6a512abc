// The action log: every mutating run that changed something appends one
// line per change to ROOT/var/log/makefilecheck.log (time, the run's pid
// and invoking user, command, what, where the previous version went); a
// run that failed or left something for the admin says so; never under
// --dry-run; never a secret.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { main } from "../src/cli.js";
import { captureOutput } from "./support/capture.js";
import { install } from "../src/changes/commands.js";
import { sync } from "../src/sync/commands.js";
import { ACTION_LOG, appPaths } from "../src/server-layout.js";
import { hashTree, inRoot, UPSTREAM_TREES, upgradeUpstream, writeSymplTree } from "./fixtures/sympl.js";
import { testContext } from "./support/context.js";
import { withTempRoot } from "./support/temp-root.js";

let root: string;
withTempRoot((r) => (root = r));

const KEY = "k3y0fTheSpamhausDQSxyz";
const log = () => readFileSync(inRoot(root, ACTION_LOG), "utf8");
const installArgs = { _: [], set: ["AUTO_IMAP_PORT=1143", "AUTO_IMAPS_PORT=1993", `AUTO_SPAMHAUS_DB_KEY=${KEY}`] };

describe("action log", () => {
  it("is not written under --dry-run, nor by a run that changed nothing", async () => {
    writeSymplTree(root);
    const before = hashTree(root);
    await install(testContext(root, { dryRun: true }), installArgs);
    expect(hashTree(root)).toBe(before);
    expect(existsSync(inRoot(root, ACTION_LOG))).toBe(false);
  });

  it("dates its lines, the journal's run and the new baseline by the run's clock, not the machine's", async () => {
    writeSymplTree(root);
    await install(testContext(root, { now: new Date("2031-02-03T04:05:06Z") }), installArgs);
    const lines = log().trimEnd().split("\n");
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.filter((l) => !l.startsWith("2031-02-03T04:05:06.000Z install: "))).toEqual([]);
    const manifest = JSON.parse(readFileSync(inRoot(root, "/var/lib/makefilecheck/baseline/exim4/manifest.json"), "utf8")) as { created: string };
    expect(manifest.created).toBe("2031-02-03T04:05:06.000Z");
  });

  it("has one line per change with time and command, the saved copy's place, and never the Spamhaus key", async () => {
    writeSymplTree(root);
    await install(testContext(root), installArgs);
    const lines = log().trimEnd().split("\n");
    expect(lines.every((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z install: (write|link|mkdir|remove|rename|run) /.test(l))).toBe(true);
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/ install: link \/etc\/exim4\/Makefile -> Makefile\.local /)]));
    expect(log()).not.toContain(KEY);
    expect(log()).not.toContain("/var/lib/makefilecheck/baseline"); // bookkeeping is not an action

    await sync(testContext(root), { _: ["sync"] }); // nothing to do: no line
    const count = log().split("\n").length;
    const rel = Object.keys(UPSTREAM_TREES.exim4)[1]!;
    upgradeUpstream(root, "exim4", { modify: { [rel]: `${UPSTREAM_TREES.exim4[rel]}# new upstream\n` } });
    // A local edit elsewhere: sync keeps it; the upstream file it updates is saved first.
    const local = inRoot(root, `${appPaths("exim4").local}/${rel}`);
    writeFileSync(local, readFileSync(local, "utf8"));
    await sync(testContext(root, { apps: ["exim4"] }), { _: ["sync"] });
    const added = log().split("\n").slice(count - 1).filter(Boolean);
    expect(added).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(` sync: write /etc/exim4/sympl-local.d/${rel} \\(upstream update\\)$`))]));
    expect(added).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(` sync: write /var/lib/makefilecheck/saved/exim4/[^ ]+/${rel} \\(previous `))]));
  });
});

describe("action log, through the command line", () => {
  captureOutput(() => {});
  const sudo = process.env.SUDO_USER;
  afterEach(() => {
    if (sudo === undefined) delete process.env.SUDO_USER;
    else process.env.SUDO_USER = sudo;
  });

  it("names the run by its pid and the invoking user: SUDO_USER when set, else the user the run is", async () => {
    writeSymplTree(root);
    process.env.SUDO_USER = "alice";
    expect(await main(["install", "--root", root, "-a", "exim4"])).toBe(0);
    const first = log().trimEnd().split("\n");
    expect(first.length).toBeGreaterThan(1);
    expect(first.filter((l) => !l.includes(` pid=${process.pid} user=alice install: `))).toEqual([]);
    delete process.env.SUDO_USER;
    expect(await main(["use", "sympl", "--root", root, "-a", "exim4"])).toBe(0);
    const added = log().trimEnd().split("\n").slice(first.length);
    expect(added.length).toBeGreaterThan(0);
    expect(added.filter((l) => !l.includes(` pid=${process.pid} user=${userInfo().username} use sympl: `))).toEqual([]);
  });

  it("logs a run that failed, with its exit code and its one line", async () => {
    writeSymplTree(root);
    mkdirSync(inRoot(root, "/var/lib/makefilecheck"), { recursive: true });
    writeFileSync(inRoot(root, "/var/lib/makefilecheck/journal.json"), "not json");
    expect(await main(["sync", "--root", root])).toBe(3);
    expect(log()).toMatch(/^\S+Z pid=\d+ user=\S+ sync: FAILED \(exit 3\): \/var\/lib\/makefilecheck\/journal\.json: journal of an interrupted run is not valid JSON/m);
  });

  it("logs what a run left for the admin (exit 1): each problem it reported", async () => {
    writeSymplTree(root, { apps: ["exim4"] });
    expect(await main(["install", "--root", root, "-a", "exim4"])).toBe(0);
    const rel = Object.keys(UPSTREAM_TREES.exim4)[1]!;
    writeFileSync(inRoot(root, `${appPaths("exim4").local}/${rel}`), "# mine\n");
    upgradeUpstream(root, "exim4", { modify: { [rel]: "# theirs\n" } });
    expect(await main(["sync", "--root", root, "-a", "exim4"])).toBe(1);
    expect(log()).toMatch(new RegExp(`^\\S+Z pid=\\d+ user=\\S+ sync: exit 1: exim4: CONFLICT /etc/exim4/sympl-local.d/${rel}: `, "m"));
  });

  it("bad input changes nothing, the log included; nor does a dry run", async () => {
    writeSymplTree(root);
    expect(await main(["install", "--root", root, "--only", "ch99"])).toBe(2);
    expect(await main(["install", "--root", root, "--dry-run"])).toBe(0);
    expect(existsSync(inRoot(root, ACTION_LOG))).toBe(false);
  });
});
