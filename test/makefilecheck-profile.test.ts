import { mkdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { App } from "../src/server-layout.js";
import { appPaths } from "../src/server-layout.js";
import { deriveVariant } from "../src/makefilecheck/makefile.js";
import { observe } from "../src/makefilecheck/observe.js";
import type { Detection } from "../src/makefilecheck/profile.js";
import { detectProfile, findUpstream } from "../src/makefilecheck/profile.js";
import { recordPath } from "../src/makefilecheck/state.js";
import { RealSystem } from "../src/system/real.js";
import { sha256 } from "../src/hash.js";
import {
  breakMissingUpstream,
  breakNoSnippetsDir,
  breakWrongLocalDir,
  damageInstallNew,
  damageDpkgNew,
  damageKeepOld,
  damagePlainFile,
  inRoot,
  newerUpstreamMakefile,
  setupLegacy,
  upstreamMakefile,
  writeSymplTree,
} from "./fixtures/sympl.js";
import { withTempRoot } from "./support/temp-root.js";

let root: string;
withTempRoot((r) => (root = r));

const at = (server: string) => inRoot(root, server);

/** Our own layout: the plain packaged Makefile, GNUmakefile a relative link, both variants, the mode recorded. */
function setupOurs(app: App, mode: "local" | "sympl"): void {
  setupLegacy(root, app);
  const p = appPaths(app);
  unlinkSync(at(p.makefile));
  writeFileSync(at(p.makefile), readFileSync(at(p.makefileSympl)));
  symlinkSync(`Makefile.${mode}`, at(p.gnumakefile));
  mkdirSync(at("/var/lib/makefilecheck"), { recursive: true });
  writeFileSync(at(recordPath(app)), JSON.stringify({ mode, variants: {}, makefile: sha256(readFileSync(at(p.makefile))), at: "" }));
}

function detect(app: App = "exim4"): Detection {
  return detectProfile(observe(new RealSystem(root), app));
}

type Row = [string, (app: App) => void, Partial<Detection> & { damageKind?: string | null }];

const exim = appPaths("exim4");
const rows: Row[] = [
  ["vanilla", (app) => writeSymplTree(root, { apps: [app] }), { profile: "vanilla", live: "sympl", code: 0, repairNeeded: false, damageKind: null }],
  [
    "caninstall",
    (app) => {
      writeSymplTree(root, { apps: [app] });
      mkdirSync(at(appPaths(app).local));
    },
    { profile: "caninstall", live: "sympl", code: 0, repairNeeded: false },
  ],
  ["local (ours)", (app) => setupOurs(app, "local"), { profile: "local", live: "local", recorded: "local", code: 0, repairNeeded: false, legacy: false }],
  ["sympl (ours)", (app) => setupOurs(app, "sympl"), { profile: "sympl", live: "sympl", recorded: "sympl", code: 0, repairNeeded: false }],
  [
    "legacy absolute link, nothing recorded",
    (app) => setupLegacy(root, app),
    { profile: "unclear", live: "local", recorded: null, mode: "local", legacy: true, code: 1, repairNeeded: true, damageKind: "makefile-link" },
  ],
  [
    "0.1.0 layout: Makefile a relative link, mode recorded, Makefile.dpkg-new beside it",
    (app) => {
      setupOurs(app, "local");
      unlinkSync(at(appPaths(app).gnumakefile));
      unlinkSync(at(appPaths(app).makefile));
      symlinkSync("Makefile.local", at(appPaths(app).makefile));
      damageDpkgNew(root, app);
    },
    { profile: "unclear", live: "local", recorded: "local", mode: "local", legacy: false, code: 1, repairNeeded: true, damageKind: "makefile-link" },
  ],
  [
    "keep-old damage: Makefile.dpkg-dist beside an edited Makefile",
    (app) => {
      setupOurs(app, "local");
      damageKeepOld(root, app);
    },
    { profile: "local", live: "local", mode: "local", code: 1, repairNeeded: true, damageKind: "leftover" },
  ],
  [
    "a Sympl upgrade replaced the packaged Makefile",
    (app) => {
      setupOurs(app, "local");
      writeFileSync(at(appPaths(app).makefile), newerUpstreamMakefile(app));
    },
    { profile: "local", live: "local", mode: "local", code: 1, repairNeeded: true, damageKind: "new-upstream" },
  ],
  [
    "install-new damage: Makefile.local overwritten with upstream",
    (app) => {
      setupOurs(app, "local");
      damageInstallNew(root, app);
    },
    { profile: "unclear", live: "sympl", mode: "local", code: 1, repairNeeded: true, damageKind: "overwritten" },
  ],
  [
    "install-new damage on a legacy tree: mode inferred from the link",
    (app) => {
      setupLegacy(root, app);
      damageInstallNew(root, app);
    },
    { profile: "unclear", recorded: null, mode: "local", legacy: true, code: 1, repairNeeded: true, damageKind: "overwritten" },
  ],
  [
    "plain-file damage with a recorded mode",
    (app) => {
      setupOurs(app, "local");
      damagePlainFile(root, app);
    },
    { profile: "unclear", live: "sympl", mode: "local", code: 1, repairNeeded: true, damageKind: "plain-file" },
  ],
  [
    "plain-file damage on a legacy tree: cannot tell the mode",
    (app) => {
      setupLegacy(root, app);
      damagePlainFile(root, app);
    },
    { profile: "unclear", mode: null, code: 1, repairNeeded: false, damageKind: "plain-file" },
  ],
  [
    "live link differs from the recorded mode",
    (app) => {
      setupOurs(app, "local");
      unlinkSync(at(appPaths(app).gnumakefile));
      symlinkSync("Makefile.sympl", at(appPaths(app).gnumakefile));
    },
    { profile: "sympl", live: "sympl", recorded: "local", mode: "local", code: 1, repairNeeded: true },
  ],
  [
    "Makefile.local reading the wrong dir",
    (app) => {
      setupOurs(app, "local");
      breakWrongLocalDir(root, app, "other.d");
    },
    { profile: "unclear", mode: "local", code: 1, repairNeeded: true },
  ],
  ["sympl.d missing", (app) => {
    setupOurs(app, "local");
    breakMissingUpstream(root, app);
  }, { profile: "fatal", code: 3 }],
  ["app dir missing", () => undefined, { profile: "fatal", code: 3 }],
  ["live Makefile without snippets_dir", (app) => {
    setupOurs(app, "local");
    breakNoSnippetsDir(root, app);
  }, { profile: "fatal", code: 2 }],
  [
    "sympl-local.d is a file",
    (app) => {
      writeSymplTree(root, { apps: [app] });
      writeFileSync(at(appPaths(app).local), "oops");
    },
    { profile: "fatal", code: 3 },
  ],
  [
    "Makefile symlink outside /etc/APP",
    (app) => {
      writeSymplTree(root, { apps: [app] });
      unlinkSync(at(appPaths(app).makefile));
      symlinkSync("/tmp/Makefile", at(appPaths(app).makefile));
    },
    { profile: "fatal", code: 3 },
  ],
];

describe("detectProfile", () => {
  for (const app of ["exim4", "dovecot"] as const) {
    it.each(rows)(`${app}: %s`, (_name, build, want) => {
      build(app);
      const det = detect(app);
      const { damageKind, ...rest } = want;
      expect(det).toMatchObject(rest);
      if (damageKind !== undefined) expect(det.damage?.kind ?? null).toBe(damageKind);
      if (det.code !== 0) expect(det.problem).toBeTruthy();
      else expect(det.problem).toBeNull();
    });
  }

  it("names the path and the fix for a Makefile link outside /etc/exim4", () => {
    writeSymplTree(root, { apps: ["exim4"] });
    unlinkSync(at(exim.makefile));
    symlinkSync("../../tmp/Makefile", at(exim.makefile));
    expect(detect().problem).toMatch(/^\/etc\/exim4\/Makefile: symlink to \/tmp\/Makefile, outside \/etc\/exim4 — /);
  });

  it("names the variant that is off when the profile is unclear", () => {
    setupOurs("exim4", "local");
    breakWrongLocalDir(root, "exim4", "other.d");
    expect(detect().problem).toBe("/etc/exim4/Makefile.local reads other.d with -type f,l, not its variant's tree");
    rmSync(at(exim.makefileSympl));
    writeFileSync(at(exim.makefileLocal), deriveVariant(exim.makefile, upstreamMakefile("exim4"), "local"));
    expect(detect().problem).toBe("/etc/exim4/Makefile.sympl is missing");
  });

  it("reads an absolute link inside the root, not on the host", () => {
    setupLegacy(root, "exim4");
    // The host's /etc/exim4/Makefile.local (if any) must not matter: breaking the copy under root does.
    breakWrongLocalDir(root, "exim4", "elsewhere.d");
    expect(detect().profile).toBe("unclear");
  });
});

describe("findUpstream", () => {
  it.each([
    ["a waiting .dpkg-dist", (app: App) => damageKeepOld(root, app), `${exim.makefile}.dpkg-dist`],
    ["a waiting .dpkg-new", (app: App) => damageDpkgNew(root, app), `${exim.makefile}.dpkg-new`],
    ["an overwritten Makefile.local", (app: App) => damageInstallNew(root, app), exim.makefileLocal],
    ["a plain Makefile", (app: App) => damagePlainFile(root, app, newerUpstreamMakefile(app)), exim.makefile],
  ])("takes the newest text from %s", (_name, damage, from) => {
    setupOurs("exim4", "local");
    damage("exim4");
    const up = findUpstream(observe(new RealSystem(root), "exim4"))!;
    expect(up.from).toBe(from);
    expect(up.text).toBe(newerUpstreamMakefile("exim4"));
  });

  it("falls back to Makefile.sympl when nothing newer is there", () => {
    setupOurs("exim4", "local");
    const up = findUpstream(observe(new RealSystem(root), "exim4"))!;
    expect(up.from).toBe(exim.makefileSympl);
    expect(deriveVariant(up.from, up.text, "local")).toBe(readFileSync(at(exim.makefileLocal), "utf8"));
  });

  it("refuses two .dpkg-dist files that disagree", () => {
    setupOurs("exim4", "local");
    damageKeepOld(root, "exim4");
    writeFileSync(at(`${exim.makefile}.dpkg-new`), upstreamMakefile("exim4"));
    expect(() => findUpstream(observe(new RealSystem(root), "exim4"))).toThrowError(/disagrees with/);
  });
});
