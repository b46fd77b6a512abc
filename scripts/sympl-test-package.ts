/**
 * `sympl-test-package.ts OUTDIR`: builds `sympl-mail-test`, a package shaped
 * like Sympl's mail packages, in three versions, for the route matrix
 * (.ci/upgrade-routes). Each ships `/etc/APP/sympl.d/**` and `/etc/APP/Makefile`
 * as dpkg conffiles (the repository's own sample trees, test/fixtures),
 * diverts Debian's `dovecot.conf` in its preinst as Sympl does, and runs
 * `cd /etc/APP && make APP.conf` in its postinst. Between versions:
 *
 * - 2.0 changes exim's `00-main/10-general` (`message_size_limit` 50M -> 64M,
 *   the line the matrix's admin also edits: the conflicting upstream edit),
 *   adds `00-main/70-queue-runners`, retires
 *   `10-acl/50-acl-check-rcpt/20-local-part-characters` with
 *   `dpkg-maintscript-helper rm_conffile`, adds a line to dovecot's
 *   `10-main/40-mail`, and ships new Makefiles: another snippet banner and a
 *   target only they have (`release-2-0`), which proves which text is in use.
 * - 3.0 changes the Makefiles again (banner and target `release-3-0`) and
 *   adds exim's `00-main/80-retry-limits`.
 *
 * Prints the paths of the .debs it made, one a line.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { APPS, type App } from "../src/server-layout.js";
import { UPSTREAM_TREES, upstreamMakefile, type SnippetTree } from "../test/fixtures/sympl.js";

const PACKAGE = "sympl-mail-test";

/** The exim snippet 2.0 retires, and the version that retires it. */
const RETIRED = { file: "/etc/exim4/sympl.d/10-acl/50-acl-check-rcpt/20-local-part-characters", since: "2.0~" };

/** One release: each app's snippet tree and Makefile text. */
interface Release {
  version: string;
  trees: Record<App, SnippetTree>;
  makefiles: Record<App, string>;
}

/** The upstream Makefile of a release: the fixture's text with its own banner, plus a target that says which release it is. */
function releaseMakefile(app: App, banner: string, target?: string): string {
  const text = upstreamMakefile(app, banner);
  if (!target) return text;
  return `${text}\n# Only this release's Makefile has this target.\n${target}:\n\t@echo '${PACKAGE} ${target} Makefile in use'\n`;
}

/** The three releases, each derived from the one before. */
function releases(): Release[] {
  const v1: Release = {
    version: "1.0",
    trees: { exim4: { ...UPSTREAM_TREES.exim4 }, dovecot: { ...UPSTREAM_TREES.dovecot } },
    makefiles: { exim4: releaseMakefile("exim4", "from"), dovecot: releaseMakefile("dovecot", "from") },
  };
  const exim2 = { ...v1.trees.exim4 };
  exim2["00-main/10-general"] = exim2["00-main/10-general"]!.replace("message_size_limit = 50M", "message_size_limit = 64M");
  exim2["00-main/70-queue-runners"] = "# Added in 2.0: at most five queue runners at a time.\nqueue_run_max = 5\n";
  delete exim2[RETIRED.file.replace("/etc/exim4/sympl.d/", "")];
  const dovecot2 = { ...v1.trees.dovecot };
  dovecot2["10-main/40-mail"] = `${dovecot2["10-main/40-mail"]}# Added in 2.0: deliveries may write to the shared mail spool.\nmail_privileged_group = mail\n`;
  const v2: Release = {
    version: "2.0",
    trees: { exim4: exim2, dovecot: dovecot2 },
    makefiles: { exim4: releaseMakefile("exim4", "release 2.0 snippet", "release-2-0"), dovecot: releaseMakefile("dovecot", "release 2.0 snippet", "release-2-0") },
  };
  const v3: Release = {
    version: "3.0",
    trees: { exim4: { ...exim2, "00-main/80-retry-limits": "# Added in 3.0: retry a deferred message for at most four days.\nretry_data_expire = 4d\n" }, dovecot: dovecot2 },
    makefiles: { exim4: releaseMakefile("exim4", "release 3.0 snippet", "release-3-0"), dovecot: releaseMakefile("dovecot", "release 3.0 snippet", "release-3-0") },
  };
  return [v1, v2, v3];
}

/** Maintainer scripts: the rm_conffile lines go in preinst, postinst and postrm alike (dpkg-maintscript-helper(1)). */
const RM_CONFFILE = `dpkg-maintscript-helper rm_conffile ${RETIRED.file} ${RETIRED.since} ${PACKAGE} -- "$@"`;

const PREINST = `#!/bin/sh
set -e
${RM_CONFFILE}
# Sympl assembles dovecot.conf itself: move Debian's out of the way.
if [ "$1" = install ] || [ "$1" = upgrade ]; then
    dpkg-divert --package ${PACKAGE} --add --rename --divert /etc/dovecot/dovecot.conf.dpkg-orig /etc/dovecot/dovecot.conf >/dev/null
fi
exit 0
`;

const POSTINST = `#!/bin/sh
set -e
${RM_CONFFILE}
if [ "$1" = configure ]; then
    for app in exim4 dovecot; do
        (cd /etc/$app && make $app.conf)
    done
fi
exit 0
`;

const POSTRM = `#!/bin/sh
set -e
${RM_CONFFILE}
if [ "$1" = remove ] || [ "$1" = purge ]; then
    rm -f /etc/dovecot/dovecot.conf
    dpkg-divert --package ${PACKAGE} --remove --rename --divert /etc/dovecot/dovecot.conf.dpkg-orig /etc/dovecot/dovecot.conf >/dev/null
fi
exit 0
`;

/** Writes `text` at `file` with `mode`, making its parents. */
function put(file: string, text: string, mode = 0o644): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  chmodSync(file, mode);
}

/** Builds one release's .deb in `outDir`; returns its path. */
function build(release: Release, outDir: string): string {
  const stage = mkdtempSync(join(tmpdir(), `${PACKAGE}-`));
  try {
    const conffiles: string[] = [];
    for (const app of APPS) {
      for (const [rel, text] of Object.entries(release.trees[app])) {
        put(join(stage, `etc/${app}/sympl.d/${rel}`), text);
        conffiles.push(`/etc/${app}/sympl.d/${rel}`);
      }
      put(join(stage, `etc/${app}/Makefile`), release.makefiles[app]);
      conffiles.push(`/etc/${app}/Makefile`);
    }
    put(join(stage, "DEBIAN/conffiles"), `${conffiles.sort().join("\n")}\n`);
    put(
      join(stage, "DEBIAN/control"),
      `Package: ${PACKAGE}
Version: ${release.version}
Architecture: all
Maintainer: makefilecheck CI <root@localhost>
Depends: make, exim4-daemon-heavy, dovecot-core, dovecot-imapd
Pre-Depends: dpkg (>= 1.17.14)
Section: mail
Priority: optional
Description: Sympl-shaped mail configuration for makefilecheck's route matrix
 Snippet trees and Makefiles for exim4 and dovecot, shipped as conffiles
 and assembled by make, as Sympl's mail packages do.
`,
    );
    put(join(stage, "DEBIAN/preinst"), PREINST, 0o755);
    put(join(stage, "DEBIAN/postinst"), POSTINST, 0o755);
    put(join(stage, "DEBIAN/postrm"), POSTRM, 0o755);
    const deb = join(outDir, `${PACKAGE}_${release.version}_all.deb`);
    execFileSync("dpkg-deb", ["--root-owner-group", "-Zxz", "--build", stage, deb], { stdio: ["ignore", "ignore", "inherit"] });
    return deb;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

const [outDir] = process.argv.slice(2);
if (!outDir) {
  console.error("usage: sympl-test-package.ts OUTDIR");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
for (const release of releases()) console.log(build(release, outDir));
