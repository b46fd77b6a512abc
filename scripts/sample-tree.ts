/**
 * The demo's built-in sample: `sample-tree.ts ROOT` writes a vanilla Sympl
 * /etc/exim4 and /etc/dovecot under ROOT (the same trees the tests use);
 * `sample-tree.ts ROOT --upgrade` then plays a Sympl upgrade on it: an
 * upstream snippet changes, one is added, and dpkg leaves the new upstream
 * exim4 Makefile beside Makefile.local as Makefile.local.dpkg-dist.
 */
import { readFileSync } from "node:fs";
import { damageKeepOld, inRoot, upgradeUpstream, writeSymplTree } from "../test/fixtures/sympl.js";

const [root, flag] = process.argv.slice(2);
if (!root) {
  console.error("usage: sample-tree.ts ROOT [--upgrade]");
  process.exit(2);
}
if (flag === "--upgrade") {
  const general = "00-main/10-general";
  const old = readFileSync(inRoot(root, `/etc/exim4/sympl.d/${general}`), "utf8");
  upgradeUpstream(root, "exim4", {
    modify: { [general]: `${old}\n# Added by the sample upgrade: refuse over-long header lines early.\nsmtp_max_synprot_errors = 3\n` },
    add: { "00-main/70-queue-runners": "# Added by the sample upgrade.\nqueue_run_max = 5\n" },
  });
  damageKeepOld(root, "exim4");
} else {
  writeSymplTree(root);
}
