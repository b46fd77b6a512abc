/**
 * The fault matrix: every mutating command is run once to count its writes,
 * then once per write N with the Nth write failing (the fault-injecting
 * System). After each fault: the live Makefile still resolves to a
 * Makefile, every file that was there is in place or kept somewhere under
 * the root (saved copies, the baseline), and the next run of the same
 * command exits as an uninterrupted run does and leaves the same end state
 * (timestamps, the stat cache and logs aside). And for every fault that
 * leaves a journal, once more with an edit between the fault and the next
 * run, of the file the failed write was about to replace: the edit must
 * survive (in place or in a saved copy) and the next run must say so. The
 * daemons' config tests run for real, memoised by the tested text's hash
 * inside the matrix.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { install } from "../src/changes/commands.js";
import { OLD_SPAMHAUS_KEY_SNIPPETS } from "../src/catalogue/snippets.js";
import type { Args, CommandResult, Context } from "../src/context.js";
import { repair, revert, use } from "../src/makefilecheck/commands.js";
import { resolveLinkTarget } from "../src/system/safe-path.js";
import { sync } from "../src/sync/commands.js";
import { RealSystem } from "../src/system/real.js";
import type { RunOptions, RunResult, System } from "../src/system/system.js";
import { FaultySystem } from "../src/system/wrappers.js";
import type { WriteCall } from "../src/system/wrappers.js";
import { JOURNAL } from "../src/plan.js";
import { hooks } from "../src/upgrade/hooks.js";
import { damageInstallNew, damageKeepOld, damagePlainFile, inRoot, makeRoot, upgradeUpstream, writeSymplTree } from "./fixtures/sympl.js";
import { testContext } from "./support/context.js";
import { endState } from "./support/end-state.js";
import { missingBinaries } from "./support/daemons.js";
import { caninstallTree, managedTree } from "./support/makefilecheck-trees.js";
import { serverPath } from "../src/paths.js";
import { UserError } from "../src/errors.js";
import type { HostPath } from "../src/paths.js";

/** The daemons' verdicts by program, arguments and the tested file's hash: one real run per distinct config. */
const verdicts = new Map<string, Promise<RunResult>>();

/** A RealSystem whose config tests are memoised by the content of the scratch file they test. */
class MemoSystem extends RealSystem {
  private readonly scratch = new Map<string, string>();
  override withScratchFile<T>(name: string, data: Buffer | string, use: (hostPath: HostPath) => Promise<T>): Promise<T> {
    return super.withScratchFile(name, data, (path) => {
      this.scratch.set(path, createHash("sha256").update(data).digest("hex"));
      return use(path);
    });
  }
  override run(cmd: string, args: string[], options?: RunOptions): Promise<RunResult> {
    if (!args.some((a) => this.scratch.has(a))) return super.run(cmd, args, options);
    const key = JSON.stringify([cmd, args.map((a) => this.scratch.get(a) ?? a)]);
    if (!verdicts.has(key)) verdicts.set(key, super.run(cmd, args, options));
    return verdicts.get(key)!;
  }
}

type Command = (ctx: Context, args: Args) => Promise<CommandResult>;
interface Scenario {
  name: string;
  setup: (root: string) => Promise<void> | void;
  command: Command;
  args: Args;
}

const PORTS = ["AUTO_IMAP_PORT=1143", "AUTO_IMAPS_PORT=1993"];
const GENERAL = "00-main/10-general";
const OPTIONS = "00-main/60-general-options";

/** An installed server that then gets a Sympl upgrade: one file merges cleanly, one conflicts, one is added, one retired. */
async function upgradedWithEdits(root: string): Promise<void> {
  writeSymplTree(root);
  await install(testContext(root), { _: [], set: PORTS, check: false });
  const local = (rel: string) => inRoot(root, `/etc/exim4/sympl-local.d/${rel}`);
  const upstream = (rel: string) => readFileSync(inRoot(root, `/etc/exim4/sympl.d/${rel}`), "utf8");
  const general = upstream(GENERAL);
  const options = readFileSync(local(OPTIONS), "utf8");
  writeFileSync(local(GENERAL), `${general}# a local line at the end\n`);
  writeFileSync(local(OPTIONS), `${options}# local: mine\n`);
  upgradeUpstream(root, "exim4", {
    modify: { [GENERAL]: `# an upstream line at the top\n${general}`, [OPTIONS]: `${upstream(OPTIONS)}# upstream: theirs\n` },
    add: { "00-main/70-new": "# a new upstream snippet\n" },
    remove: ["40-retry/10-default"],
  });
}

const KEY = "AUTO_SPAMHAUS_DB_KEY=Fm4TestKey";

/** An install of the previous release: the key inline in 35-spamhaus-key, a key file and a saved copy others may read. */
async function olderKeyedInstall(root: string): Promise<void> {
  writeSymplTree(root);
  await install(testContext(root), { _: [], set: [...PORTS, KEY], check: false });
  const old = OLD_SPAMHAUS_KEY_SNIPPETS.keyed.replace("@@SPAMHAUS_DQ_KEY@@", "Fm4TestKey");
  writeFileSync(inRoot(root, "/etc/exim4/sympl-local.d/00-main/35-spamhaus-key"), old);
  chmodSync(inRoot(root, "/etc/exim4/spamhaus-key"), 0o644);
  const saved = inRoot(root, "/var/lib/makefilecheck/saved/exim4/2026-01-02T03-04-05Z/00-main");
  mkdirSync(saved, { recursive: true });
  writeFileSync(`${saved}/35-spamhaus-key`, old, { mode: 0o644 });
}

const SCENARIOS: Scenario[] = [
  { name: "use local", setup: (r) => caninstallTree(r), command: use, args: { _: [], mode: "local", check: true } },
  { name: "use sympl", setup: (r) => managedTree(r), command: use, args: { _: [], mode: "sympl", check: true } },
  { name: "repair after keep-old", setup: async (r) => { await managedTree(r); for (const a of ["exim4", "dovecot"] as const) damageKeepOld(r, a); }, command: repair, args: { _: [], check: true } },
  { name: "repair after install-new", setup: async (r) => { await managedTree(r); for (const a of ["exim4", "dovecot"] as const) damageInstallNew(r, a); }, command: repair, args: { _: [], check: true } },
  { name: "repair after a plain Makefile", setup: async (r) => { await managedTree(r); for (const a of ["exim4", "dovecot"] as const) damagePlainFile(r, a); }, command: repair, args: { _: [], check: true } },
  { name: "revert --force", setup: (r) => managedTree(r), command: revert, args: { _: [], force: true } },
  { name: "sync after an upgrade with merges and a conflict", setup: upgradedWithEdits, command: sync, args: { _: [] } },
  { name: "install", setup: (r) => writeSymplTree(r), command: install, args: { _: [], set: [...PORTS, KEY], check: true } },
  { name: "install moving an inline Spamhaus key and tightening its copies", setup: olderKeyedInstall, command: install, args: { _: [], set: [...PORTS, KEY], check: true } },
  {
    name: "install switching a change off",
    setup: async (r) => {
      writeSymplTree(r);
      await install(testContext(r), { _: [], set: PORTS, check: false });
    },
    command: install,
    args: { _: [], set: [...PORTS, "AUTO_CH7=N", "AUTO_CH3=N"], check: true },
  },
  { name: "hooks --install", setup: (r) => writeSymplTree(r), command: hooks, args: { _: [], install: true, bin: "/usr/local/bin/makefilecheck" } },
];

/** Every regular file under `dir` by path, with its content hash. */
function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const st = lstatSync(path);
      if (st.isDirectory()) visit(path);
      else if (st.isFile()) out.set(path, createHash("sha256").update(readFileSync(path)).digest("hex"));
    }
  };
  visit(dir);
  return out;
}

/**
 * What is wrong after a fault, as lines (none when every invariant holds).
 * `removes` holds the files (server paths) the command itself removes when
 * it runs uninterrupted (revert removes the variants).
 */
function violations(root: string, before: Map<string, string>, removes: Set<string>): string[] {
  const bad: string[] = [];
  const sys = new RealSystem(root);
  for (const app of ["exim4", "dovecot"]) {
    let path = serverPath(`/etc/${app}/Makefile`);
    for (let hops = 0; sys.stat(path)?.type === "link" && hops < 10; hops++) path = resolveLinkTarget(path, sys.readLink(path));
    const st = sys.stat(path);
    if (st?.type !== "file" || !sys.readFile(path).toString("utf8").includes("snippets_dir")) bad.push(`${app}: the live Makefile does not resolve to a Makefile`);
  }
  const after = files(root);
  const kept = new Set(after.values());
  for (const [path, hash] of before) {
    if (!after.has(path) && !kept.has(hash) && !removes.has(path.slice(root.length))) bad.push(`${path} is gone and no copy of it is kept`);
  }
  return bad;
}

/** The path a failed write was about to replace or remove, where an admin could edit a file; null for anything else. */
function replacedBy(call: WriteCall | null): string | null {
  if (!call) return null;
  const path = call.method === "writeFile" || call.method === "remove" ? call.args[0] : call.method === "symlink" || call.method === "rename" ? call.args[1] : null;
  return typeof path === "string" && path !== JOURNAL ? path : null;
}

/**
 * Edits `path` under `root` as an admin would between the kill and the
 * rerun: a line added to the file (or the file written, where there was
 * none or a link). Returns the line, or null for a directory.
 */
function editAfterKill(root: string, path: string): string | null {
  const host = inRoot(root, path);
  let st;
  try {
    st = lstatSync(host);
  } catch {
    st = null;
  }
  if (st?.isDirectory()) return null;
  const line = `# the admin's edit after the kill: ${path}\n`;
  const text = st?.isFile() ? readFileSync(host, "utf8") : "";
  if (st && !st.isFile()) rmSync(host);
  mkdirSync(dirname(host), { recursive: true });
  writeFileSync(host, text + line);
  return line;
}

/** True when some file under `dir` holds `text`. */
function someFileHolds(dir: string, text: string): boolean {
  return [...files(dir).keys()].some((path) => readFileSync(path, "utf8").includes(text));
}

const counts = { commands: 0, faults: 0, violations: 0, edits: 0 };

/**
 * On a copy of `root` as a fault left it, journal and all: edits `path`
 * as an admin would, runs the command again, and returns what went wrong
 * (the edit lost, or not said).
 */
async function editThenRerun(root: string, s: Scenario, path: string): Promise<string[]> {
  const copy = freshRoot();
  rmSync(copy, { recursive: true, force: true });
  expect(spawnSync("cp", ["-a", root, copy]).status).toBe(0);
  const line = editAfterKill(copy, path);
  if (!line) return [];
  counts.edits += 1;
  const bad: string[] = [];
  const ctx = { ...testContext(copy), sys: new MemoSystem(copy) };
  // The rerun may refuse what the edit made of the setup (a mangled Makefile); it must not lose the edit.
  await s.command(ctx, s.args).catch((err: unknown) => {
    if (!(err instanceof UserError)) bad.push(`the next run failed: ${String(err)}`);
  });
  if (!someFileHolds(copy, line)) bad.push("the edit is lost");
  if (!ctx.notes.some((note) => note.includes(path))) bad.push(`the next run did not say it left the edit alone (${ctx.notes.join(" | ")})`);
  rmSync(copy, { recursive: true, force: true });
  return bad;
}
const roots: string[] = [];

function freshRoot(): string {
  const root = makeRoot();
  roots.push(root);
  return root;
}

async function runOn(root: string, s: Scenario, sys: System): Promise<CommandResult> {
  return s.command({ ...testContext(root), sys }, s.args);
}

afterAll(() => {
  // The counts the issue asks the test run to print.
  console.log(`fault matrix: ${counts.commands} commands, ${counts.faults} faults injected, ${counts.edits} edits between a fault and the rerun, ${counts.violations} invariant violations; ${verdicts.size} distinct config tests`);
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe.skipIf(missingBinaries("exim4", "dovecot"))("fault matrix", () => {
  it.each(SCENARIOS.map((s) => [s.name, s] as const))("%s: every write failed in turn", async (_name, s) => {
    const ref = freshRoot();
    await s.setup(ref);
    const counter = new FaultySystem(new MemoSystem(ref), Number.MAX_SAFE_INTEGER);
    const beforeRef = new Set([...files(inRoot(ref, "/etc")).keys()].map((p) => p.slice(ref.length)));
    const uninterrupted = await runOn(ref, s, counter);
    const total = counter.writes;
    const endRef = endState(ref);
    const stays = new Set([...files(inRoot(ref, "/etc")).keys()].map((p) => p.slice(ref.length)));
    const gone = new Set([...beforeRef].filter((p) => !stays.has(p)));
    expect(total).toBeGreaterThan(0);
    counts.commands += 1;
    const found: string[] = [];
    for (let n = 1; n <= total; n++) {
      const root = freshRoot();
      await s.setup(root);
      const before = files(inRoot(root, "/etc"));
      // A fault in a best-effort write (the action log, drift's stat cache) is noted and the run goes on.
      const faulty = new FaultySystem(new MemoSystem(root), n);
      await runOn(root, s, faulty).catch(() => {});
      counts.faults += 1;
      const replaced = replacedBy(faulty.failed);
      if (replaced && lstatSync(inRoot(root, JOURNAL), { throwIfNoEntry: false })) found.push(...(await editThenRerun(root, s, replaced)).map((v) => `fault ${n} and an edit of ${replaced}: ${v}`));
      found.push(...violations(root, before, gone).map((v) => `fault ${n}: ${v}`));
      const next = await runOn(root, s, new MemoSystem(root));
      if (next.code !== uninterrupted.code) found.push(`fault ${n}: the next run exited ${next.code}, an uninterrupted one ${uninterrupted.code}`);
      const end = endState(root);
      if (end.join("\n") !== endRef.join("\n")) {
        const diff = [...end.filter((l) => !endRef.includes(l)).map((l) => `+ ${l}`), ...endRef.filter((l) => !end.includes(l)).map((l) => `- ${l}`)];
        found.push(`fault ${n}: the end state differs: ${diff.slice(0, 4).join(" | ")}`);
      }
      rmSync(root, { recursive: true, force: true });
    }
    counts.violations += found.length;
    expect(found).toEqual([]);
  }, 600_000);
});
