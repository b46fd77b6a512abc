/**
 * doctor's checks that ask the daemons: the lookups of the real exim4
 * (`exim4 -bV`), the real config tests, and who holds ch2's ports (the
 * kernel's socket tables), each passing once and failing once, on
 * installed trees through a read-only System; and doctor runs no program
 * the package neither depends on nor recommends.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { CommandResult } from "../src/context.js";
import { doctor } from "../src/doctor/command.js";
import { lookupTypes } from "../src/doctor/daemons.js";
import { RealSystem } from "../src/system/real.js";
import { ReadOnlySystem } from "../src/system/wrappers.js";
import { inRoot } from "./fixtures/sympl.js";
import { buildProofTree, type ProofSettings } from "./support/changes-tree.js";
import { testContext } from "./support/context.js";
import { missingBinaries } from "./support/daemons.js";

const roots: string[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
  await Promise.all(servers.splice(0).map((s) => new Promise((done) => s.close(done))));
});

async function installed(settings: ProofSettings = {}): Promise<string> {
  const tree = await buildProofTree(settings);
  roots.push(tree.root);
  return tree.root;
}

async function runDoctor(root: string, app: "exim4" | "dovecot"): Promise<CommandResult> {
  const ctx = testContext(root, { apps: [app] });
  return doctor({ ...ctx, sys: new ReadOnlySystem(new RealSystem(root)) }, { _: ["doctor"] });
}

function verdict(result: CommandResult, app: string, id: string): { status: string; message: string; fix?: string } | undefined {
  const checks = result.apps.find((a) => a.app === app)?.checks as Array<{ id: string; status: string; message: string; fix?: string }>;
  return checks.find((c) => c.id === id);
}

/** Adds a snippet to an app's live tree. */
function addSnippet(root: string, app: "exim4" | "dovecot", rel: string, text: string): void {
  writeFileSync(inRoot(root, `/etc/${app}/sympl-local.d/${rel}`), text);
}

/** Listens on a free local port and gives it; closed after the test. */
async function holdPort(): Promise<number> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, "0.0.0.0", done));
  return (server.address() as { port: number }).port;
}

/** A port nobody listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "0.0.0.0", done));
  const port = (server.address() as { port: number }).port;
  await new Promise((done) => server.close(done));
  return port;
}

describe("the lookup types a config uses", () => {
  it("reads every form, and nothing from comments", () => {
    const text = [
      "  condition = ${lookup sqlite,file=/x {SELECT 1}}",
      "  !condition = ${lookup dnsdb{ptr=$sender_host_address}{true}{false}}",
      "  data = ${lookup{$local_part}lsearch{/etc/aliases}}",
      "  data = ${lookup {$domain} partial-cdb {/etc/x.cdb}}",
      "domainlist local_domains = dsearch;/etc/virtual",
      "hostlist h = net24-iplsearch;/etc/hosts.list",
      "# data = ${lookup redis{GET x}}",
    ].join("\n");
    expect([...lookupTypes(text)].sort()).toEqual(["cdb", "dnsdb", "dsearch", "iplsearch", "lsearch", "sqlite"]);
  });
});

const noExim = missingBinaries("exim4", "dovecot");

describe.skipIf(noExim)("exim-lookups and config-test with the real daemons", () => {
  it("pass on the installed changes", async () => {
    const root = await installed({ firewall: "sympl" });
    const exim = await runDoctor(root, "exim4");
    expect(verdict(exim, "exim4", "exim-lookups")).toMatchObject({ status: "ok" });
    expect(verdict(exim, "exim4", "exim-lookups")!.message).toContain("sqlite");
    expect(verdict(exim, "exim4", "config-test")).toMatchObject({ status: "ok" });
    expect(verdict(await runDoctor(root, "dovecot"), "dovecot", "config-test")).toMatchObject({ status: "ok" });
  });

  it("exim-lookups fails on a lookup this exim4 is built without", async () => {
    const root = await installed();
    addSnippet(root, "exim4", "00-main/99-cache", "# a cache in redis\nCACHE_LOOKUP = ${lookup redis{GET seen}}\n");
    const v = verdict(await runDoctor(root, "exim4"), "exim4", "exim-lookups")!;
    expect(v.status).toBe("fail");
    expect(v.message).toContain("uses redis lookups, which this exim4 lacks");
  });

  it("config-test fails, naming the complaint, when a daemon rejects the live tree", async () => {
    const root = await installed();
    addSnippet(root, "exim4", "00-main/99-typo", "no_such_option_here = 1\n");
    addSnippet(root, "dovecot", "10-main/99-typo", "no_such_setting_here = 1\n");
    const exim = verdict(await runDoctor(root, "exim4"), "exim4", "config-test")!;
    expect(exim.status).toBe("fail");
    expect(exim.message).toContain("no_such_option_here");
    const dovecot = await runDoctor(root, "dovecot");
    expect(verdict(dovecot, "dovecot", "config-test")).toMatchObject({ status: "fail" });
    expect(verdict(dovecot, "dovecot", "config-test")!.message).toContain("no_such_setting_here");
    expect(dovecot.code).toBe(1);
  });
});

describe("dovecot-ports: ch2's private ports", () => {
  it("passes while they are free", async () => {
    const root = await installed({ imapPort: await freePort(), imapsPort: await freePort() });
    expect(verdict(await runDoctor(root, "dovecot"), "dovecot", "dovecot-ports")).toMatchObject({ status: "ok" });
  });

  it("fails, naming the holder, when another program listens on one", async () => {
    const held = await holdPort();
    const root = await installed({ imapPort: held, imapsPort: await freePort() });
    const v = verdict(await runDoctor(root, "dovecot"), "dovecot", "dovecot-ports")!;
    expect(v.status).toBe("fail");
    expect(v.message).toMatch(new RegExp(`port ${held} is held by node \\(pid ${process.pid}\\)`));
  });
});

/** The packages the .deb names in Depends and Recommends (scripts/package.ts writes its control file). */
function packageRelations(): Set<string> {
  const text = readFileSync(fileURLToPath(new URL("../scripts/package.ts", import.meta.url)), "utf8");
  const fields = [...text.matchAll(/^(?:Depends|Recommends): (.+)$/gm)].map((m) => m[1]!);
  return new Set(fields.flatMap((f) => f.split(",").map((p) => p.trim().split(/[\s(]/)[0]!)));
}

/** The package that ships `program` here (usr-merged paths asked both ways), and whether it is Essential. */
function owner(program: string): { name: string; essential: boolean } {
  for (const path of [program, program.replace(/^\/usr/, "")]) {
    const found = spawnSync("dpkg", ["-S", path], { encoding: "utf8" });
    const name = found.status === 0 ? found.stdout.split(":")[0]! : null;
    if (!name) continue;
    const essential = spawnSync("dpkg-query", ["-W", "-f=${Essential}", name], { encoding: "utf8" }).stdout.trim() === "yes";
    return { name, essential };
  }
  return { name: `(no package ships ${program})`, essential: false };
}

describe("doctor's own needs", () => {
  it("runs no program of a package the .deb neither depends on nor recommends (ch2's ports come from /proc, not ss)", async () => {
    const root = await installed({ imapPort: await holdPort(), imapsPort: await freePort() });
    const ctx = testContext(root);
    const ran = new Set<string>();
    const run = ctx.sys.run.bind(ctx.sys);
    ctx.sys.run = (cmd, args, options) => {
      ran.add(cmd);
      return run(cmd, args, options);
    };
    const result = await doctor(ctx, { _: ["doctor"] });
    expect(verdict(result, "dovecot", "dovecot-ports")?.status).toBe("fail");
    expect(ran.size).toBeGreaterThan(0);
    const allowed = packageRelations();
    const foreign = [...ran].map(owner).filter((p) => !p.essential && !allowed.has(p.name));
    expect(foreign).toEqual([]);
  });
});

describe("built-config: the built file is the chosen tree's", () => {
  it("passes on a fresh build and fails once it is gone", async () => {
    const root = await installed();
    expect(verdict(await runDoctor(root, "dovecot"), "dovecot", "built-config")).toMatchObject({ status: "ok" });
    rmSync(inRoot(root, "/etc/dovecot/dovecot.conf"));
    const v = verdict(await runDoctor(root, "dovecot"), "dovecot", "built-config")!;
    expect(v.status).toBe("fail");
    expect(v.message).toContain("is missing");
    expect(v.fix).toBe("cd /etc/dovecot && make");
  });
});
