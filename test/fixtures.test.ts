/**
 * The fixtures promise trees the real daemons accept and variants with an
 * exact on-disk shape; every other test relies on both.
 */
import { spawnSync } from "node:child_process";
import { lstatSync, readFileSync, readlinkSync, rmSync, chmodSync, symlinkSync, unlinkSync, existsSync } from "node:fs";
import { beforeEach, describe, expect, it } from "vitest";
import { APPS, type App } from "../src/server-layout.js";
import {
  assembleConfig,
  breakMissingUpstream,
  breakNoSnippetsDir,
  breakWrongLocalDir,
  daemonAccepts,
  damageInstallNew,
  damageDpkgNew,
  damageKeepOld,
  damagePlainFile,
  hashTree,
  inRoot,
  makeRoot,
  newerUpstreamMakefile,
  setupLegacy,
  upgradeUpstream,
  upstreamMakefile,
  UPSTREAM_TREES,
  writeSymplTree,
} from "./fixtures/sympl.js";
import { missingBinaries } from "./support/daemons.js";
import { withTempRoot } from "./support/temp-root.js";

const BIN_OF: Record<App, "exim4" | "dovecot"> = { exim4: "exim4", dovecot: "dovecot" };

let root: string;
withTempRoot((r) => (root = r));

const read = (serverPath: string): string => readFileSync(inRoot(root, serverPath), "utf8");
const isLink = (serverPath: string): boolean => lstatSync(inRoot(root, serverPath)).isSymbolicLink();

/** Runs the upstream Makefile's own targets on the tree under the root. */
function make(app: App, ...targets: string[]): { status: number | null; output: string } {
  const run = spawnSync("make", ["-s", "-C", inRoot(root, `/etc/${app}`), ...targets], { encoding: "utf8" });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe.each(APPS)("vanilla %s tree", (app) => {
  const skip = missingBinaries(BIN_OF[app], "make");

  it.skipIf(skip)("is accepted by the real daemon via daemonAccepts", () => {
    writeSymplTree(root);
    const verdict = daemonAccepts(root, app, "sympl.d");
    expect(verdict.ok, verdict.output).toBe(true);
  });

  it.skipIf(skip)("passes the Makefile's own `make APP.conf.tmp test`, and assembleConfig matches make byte for byte", () => {
    writeSymplTree(root);
    const run = make(app, `${app}.conf.tmp`, "test");
    expect(run.status, run.output).toBe(0);
    expect(read(`/etc/${app}/${app}.conf.tmp`)).toBe(assembleConfig(root, app, "sympl.d"));
  });

  it.skipIf(skip)("is refused by the daemon, via both paths, once a snippet is garbage", () => {
    writeSymplTree(root);
    upgradeUpstream(root, app, { add: { "99-garbage": "this_is_no_option_of_any_daemon = 1\n" } });
    expect(daemonAccepts(root, app, "sympl.d").ok).toBe(false);
    expect(make(app, `${app}.conf.tmp`, "test").status).not.toBe(0);
  });

  it.skipIf(skip)("leaves dot- and underscore-named files out of the config, as make does", () => {
    writeSymplTree(root);
    upgradeUpstream(root, app, { add: { "99-late.dpkg-dist": "garbage\n", "99_old": "garbage\n", "x": "garbage\n" } });
    const conf = assembleConfig(root, app, "sympl.d");
    expect(conf).not.toContain("garbage");
    expect(make(app, `${app}.conf.tmp`).status).toBe(0);
    expect(read(`/etc/${app}/${app}.conf.tmp`)).toBe(conf);
    expect(daemonAccepts(root, app, "sympl.d").ok).toBe(true);
  });

  it("has a plain upstream Makefile with the lines docs/sympl.md gives", () => {
    writeSymplTree(root, { apps: [app] });
    const text = read(`/etc/${app}/Makefile`);
    expect(isLink(`/etc/${app}/Makefile`)).toBe(false);
    expect(text).toBe(upstreamMakefile(app));
    expect(text).toMatch(/^snippets_dir := sympl\.d$/m);
    expect(text).toContain("-regextype posix-basic -type f -regex '.*/[a-z0-9][a-z0-9-]\\+' | sort)");
    expect(text).toContain(app === "exim4" ? "/usr/sbin/exim4 -bV -C $(CURDIR)/$(conf_tmp)" : "/usr/sbin/dovecot -a -c $(conf_tmp)");
    expect(existsSync(inRoot(root, `/etc/${APPS.find((a) => a !== app)}`))).toBe(false);
  });
});

describe("exim4 upstream content the changes rely on", () => {
  const tree = UPSTREAM_TREES.exim4;

  it("has the edit targets of ch3, ch4 and ch11 as exact lines", () => {
    expect(tree["00-main/50-tls-options"]).toMatch(/^log_selector = \+tls_sni$/m);
    expect(tree["00-main/50-tls-options"]).toMatch(/^auth_advertise_hosts = .*no_matching_hosts/m);
    expect(tree["00-main/60-general-options"]).toMatch(/^rfc1413_hosts =$/m);
    expect(tree["00-main/60-general-options"]).toMatch(/^rfc1413_query_timeout = 5s$/m);
  });

  it("opens both ACLs in the directories the changes add to", () => {
    expect(tree["10-acl/10-acl-check-connect/00-header"]).toMatch(/^acl_check_connect:$/m);
    expect(tree["10-acl/50-acl-check-rcpt/00-header"]).toMatch(/^acl_check_rcpt:$/m);
    for (const rel of ["10-acl/10-acl-check-connect/10-accept-local", "10-acl/10-acl-check-connect/90-default", "10-acl/50-acl-check-rcpt/75-dns-blacklists"]) {
      expect(tree[rel], rel).toBeDefined();
    }
  });

  it("lists the private and documentation ranges in private_addresses", () => {
    const line = tree["00-main/20-host-lists"]!.split("\n").find((l) => l.startsWith("hostlist private_addresses"))!;
    for (const net of ["127.0.0.0/8", "::1", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"]) {
      expect(line).toContain(` ${net} `.trimEnd());
    }
  });
});

describe.skipIf(missingBinaries("exim4"))("exim4 ACLs at run time", () => {
  it("refuses to relay for an outside host and names the reason in the log", () => {
    writeSymplTree(root, { apps: ["exim4"] });
    make("exim4", "exim4.conf.tmp");
    const session = "EHLO client.example\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<someone@example.com>\r\nQUIT\r\n";
    const run = spawnSync("/usr/sbin/exim4", ["-C", inRoot(root, "/etc/exim4/exim4.conf.tmp"), "-bh", "203.0.113.5"], { input: session, encoding: "utf8" });
    expect(run.stdout).toMatch(/^550 Relaying is not permitted/m);
    expect(run.stderr).toMatch(/LOG: .*\[203\.0\.113\.5\].*rejected RCPT <someone@example\.com>/);
  });
});

describe.skipIf(missingBinaries("dovecot", "doveconf"))("dovecot tree room for ch1 and ch2", () => {
  it("merges a second imap-login block with extra listeners and takes auth_verbose", () => {
    writeSymplTree(root, { apps: ["dovecot"] });
    upgradeUpstream(root, "dovecot", {
      add: {
        "10-main/15-imap-ports": "service imap-login {\n  inet_listener imap_extra {\n    port = 1143\n  }\n  inet_listener imaps_extra {\n    port = 1993\n    ssl = yes\n  }\n}\n",
        "10-main/35-log-debug": "auth_verbose = yes\n",
      },
    });
    expect(daemonAccepts(root, "dovecot", "sympl.d").ok).toBe(true);
    make("dovecot", "dovecot.conf.tmp");
    const shown = spawnSync("/usr/bin/doveconf", ["-n", "-c", inRoot(root, "/etc/dovecot/dovecot.conf.tmp")], { encoding: "utf8" }).stdout;
    const service = shown.slice(shown.indexOf("service imap-login {"));
    for (const listener of ["imap", "imaps", "imap_extra", "imaps_extra"]) expect(service).toContain(`inet_listener ${listener} {`);
    expect(shown).toMatch(/^auth_verbose = yes$/m);
  });
});

describe.each(APPS)("legacy %s tree (old shell + Python tooling)", (app) => {
  beforeEach(() => {
    writeSymplTree(root);
    setupLegacy(root, app);
  });

  it("links Makefile absolutely to Makefile.local and keeps Makefile.sympl as the upstream text", () => {
    expect(readlinkSync(inRoot(root, `/etc/${app}/Makefile`))).toBe(`/etc/${app}/Makefile.local`);
    expect(read(`/etc/${app}/Makefile.sympl`)).toBe(upstreamMakefile(app));
  });

  it("derives Makefile.local by changing exactly the snippets_dir value and the -type", () => {
    const sympl = read(`/etc/${app}/Makefile.sympl`).split("\n");
    const local = read(`/etc/${app}/Makefile.local`).split("\n");
    expect(local).toHaveLength(sympl.length);
    const changed = local.filter((line, i) => line !== sympl[i]);
    expect(changed).toEqual([
      "snippets_dir := sympl-local.d",
      expect.stringContaining("-type f,l -regex"),
    ]);
  });

  it("copies sympl.d into sympl-local.d, with only the linked snippets as absolute links", () => {
    for (const [rel, text] of Object.entries(UPSTREAM_TREES[app])) {
      const local = `/etc/${app}/sympl-local.d/${rel}`;
      if (app === "dovecot" && rel === "10-main/60-sni") {
        expect(readlinkSync(inRoot(root, local))).toBe("/etc/dovecot/sympl.d/10-main/60-sni");
      } else {
        expect(isLink(local), rel).toBe(false);
        expect(read(local), rel).toBe(text);
      }
    }
  });

  it.skipIf(missingBinaries(BIN_OF[app]))("builds sympl-local.d into a config the daemon accepts, reading links inside the root", () => {
    upgradeUpstream(root, app, { modify: app === "dovecot" ? { "10-main/60-sni": "# rewritten by sympl at run time\n" } : {} });
    const conf = assembleConfig(root, app, "sympl-local.d");
    expect(conf).toBe(assembleConfig(root, app, "sympl.d").replaceAll("# from sympl.d/", "# from sympl-local.d/"));
    if (app === "dovecot") expect(conf).toContain("# rewritten by sympl at run time");
    expect(daemonAccepts(root, app, "sympl-local.d").ok).toBe(true);
  });
});

describe.each(APPS)("upgrade damage to a legacy %s setup", (app) => {
  const dir = `/etc/${app}`;
  let localBefore: string;
  beforeEach(() => {
    writeSymplTree(root);
    setupLegacy(root, app);
    localBefore = read(`${dir}/Makefile.local`);
  });

  it("keep-old: the new upstream text lands as Makefile.dpkg-dist beside the Makefile; everything else stays", () => {
    damageKeepOld(root, app);
    expect(read(`${dir}/Makefile.dpkg-dist`)).toBe(newerUpstreamMakefile(app));
    expect(newerUpstreamMakefile(app)).not.toBe(upstreamMakefile(app));
    expect(read(`${dir}/Makefile.local`)).toBe(localBefore);
    expect(readlinkSync(inRoot(root, `${dir}/Makefile`))).toBe(`${dir}/Makefile.local`);
  });

  it("dpkg-new: as dpkg 1.21 treats a conffile that is a link, the new text waits as Makefile.dpkg-new and the link stays", () => {
    damageDpkgNew(root, app);
    expect(read(`${dir}/Makefile.dpkg-new`)).toBe(newerUpstreamMakefile(app));
    expect(readlinkSync(inRoot(root, `${dir}/Makefile`))).toBe(`${dir}/Makefile.local`);
  });

  it("install-new: Makefile.local becomes the new upstream text, the old one is Makefile.local.dpkg-old, the link stays", () => {
    damageInstallNew(root, app);
    expect(read(`${dir}/Makefile.local`)).toBe(newerUpstreamMakefile(app));
    expect(read(`${dir}/Makefile.local`)).toMatch(/^snippets_dir := sympl\.d$/m);
    expect(read(`${dir}/Makefile.local.dpkg-old`)).toBe(localBefore);
    expect(readlinkSync(inRoot(root, `${dir}/Makefile`))).toBe(`${dir}/Makefile.local`);
  });

  it("plain file: the Makefile link becomes a regular file of upstream text; the variants stay", () => {
    damagePlainFile(root, app);
    expect(isLink(`${dir}/Makefile`)).toBe(false);
    expect(read(`${dir}/Makefile`)).toBe(upstreamMakefile(app));
    expect(read(`${dir}/Makefile.local`)).toBe(localBefore);
    expect(read(`${dir}/Makefile.sympl`)).toBe(upstreamMakefile(app));
  });

  it("install-new follows a relative link too (the 0.1.0 layout)", () => {
    unlinkSync(inRoot(root, `${dir}/Makefile`));
    symlinkSync("Makefile.local", inRoot(root, `${dir}/Makefile`));
    damageInstallNew(root, app, "new text\n");
    expect(read(`${dir}/Makefile.local`)).toBe("new text\n");
  });

  it("refuses to overwrite a variant when nothing links to one", () => {
    damagePlainFile(root, app);
    expect(() => damageInstallNew(root, app)).toThrow(/not a symlink/);
  });
});

describe("upgradeUpstream", () => {
  beforeEach(() => writeSymplTree(root, { apps: ["exim4"] }));
  const up = "/etc/exim4/sympl.d";

  it("modifies, adds and retires snippets in sympl.d", () => {
    upgradeUpstream(root, "exim4", {
      modify: { "00-main/60-general-options": "rfc1413_hosts =\n" },
      add: { "00-main/70-new": "# new\n", "00-main/50-tls-options.dpkg-dist": "# leftover\n" },
      remove: ["10-acl/50-acl-check-rcpt/20-local-part-characters"],
    });
    expect(read(`${up}/00-main/60-general-options`)).toBe("rfc1413_hosts =\n");
    expect(read(`${up}/00-main/70-new`)).toBe("# new\n");
    expect(read(`${up}/00-main/50-tls-options.dpkg-dist`)).toBe("# leftover\n");
    expect(existsSync(inRoot(root, `${up}/10-acl/50-acl-check-rcpt/20-local-part-characters`))).toBe(false);
  });

  it("refuses to modify a snippet that does not exist", () => {
    expect(() => upgradeUpstream(root, "exim4", { modify: { "00-main/nope": "x\n" } })).toThrow(/missing upstream/);
  });
});

describe("broken variants", () => {
  it("breakMissingUpstream removes sympl.d and nothing else", () => {
    writeSymplTree(root);
    breakMissingUpstream(root, "dovecot");
    expect(existsSync(inRoot(root, "/etc/dovecot/sympl.d"))).toBe(false);
    expect(read("/etc/dovecot/Makefile")).toBe(upstreamMakefile("dovecot"));
    expect(existsSync(inRoot(root, "/etc/exim4/sympl.d"))).toBe(true);
  });

  it("breakNoSnippetsDir drops only the snippets_dir line of the file Makefile resolves to", () => {
    writeSymplTree(root);
    setupLegacy(root, "exim4");
    breakNoSnippetsDir(root, "exim4");
    const text = read("/etc/exim4/Makefile.local");
    expect(text).not.toMatch(/^snippets_dir/m);
    expect(text.split("\n")).toHaveLength(upstreamMakefile("exim4").split("\n").length - 1);
    expect(isLink("/etc/exim4/Makefile")).toBe(true);
  });

  it("breakWrongLocalDir points Makefile.local at sympl.d (or a given dir), keeping -type f,l", () => {
    writeSymplTree(root);
    setupLegacy(root, "dovecot");
    breakWrongLocalDir(root, "dovecot");
    expect(read("/etc/dovecot/Makefile.local")).toMatch(/^snippets_dir := sympl\.d$/m);
    expect(read("/etc/dovecot/Makefile.local")).toContain("-type f,l ");
    setupLegacy(root, "exim4");
    breakWrongLocalDir(root, "exim4", "sympl-old.d");
    expect(read("/etc/exim4/Makefile.local")).toMatch(/^snippets_dir := sympl-old\.d$/m);
  });
});

describe("makeRoot and hashTree", () => {
  it("makes distinct roots reachable by the daemons' own users", () => {
    const other = makeRoot();
    try {
      expect(other).not.toBe(root);
      expect(lstatSync(root).mode & 0o777).toBe(0o755);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it("is stable for an unchanged tree and changes with one byte, one mode bit or one link target", () => {
    writeSymplTree(root);
    setupLegacy(root, "dovecot");
    const before = hashTree(root);
    expect(hashTree(root)).toBe(before);

    const snippet = inRoot(root, "/etc/dovecot/sympl.d/10-main/30-ssl");
    const text = readFileSync(snippet, "utf8");
    upgradeUpstream(root, "dovecot", { modify: { "10-main/30-ssl": text.replace("ssl = no", "ssl = No") } });
    expect(hashTree(root)).not.toBe(before);
    upgradeUpstream(root, "dovecot", { modify: { "10-main/30-ssl": text } });
    expect(hashTree(root)).toBe(before);

    chmodSync(snippet, 0o664);
    expect(hashTree(root)).not.toBe(before);
    chmodSync(snippet, 0o644);
    expect(hashTree(root)).toBe(before);

    const link = inRoot(root, "/etc/dovecot/Makefile");
    unlinkSync(link);
    symlinkSync("Makefile.local", link);
    expect(hashTree(root)).not.toBe(before);
  });

  it("sees a new empty file", () => {
    writeSymplTree(root, { apps: ["exim4"] });
    const before = hashTree(root);
    upgradeUpstream(root, "exim4", { add: { "00-main/99-empty": "" } });
    expect(hashTree(root)).not.toBe(before);
  });
});

describe("writers never write through a link", () => {
  it("refuses to rewrite a legacy tree's linked Makefile with writeSymplTree", () => {
    writeSymplTree(root, { apps: ["exim4"] });
    setupLegacy(root, "exim4");
    const local = read("/etc/exim4/Makefile.local");
    expect(() => writeSymplTree(root, { apps: ["exim4"] })).toThrow(/refusing to write through the link/);
    expect(read("/etc/exim4/Makefile.local")).toBe(local);
  });
});
