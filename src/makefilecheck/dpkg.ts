/**
 * What dpkg recorded for each app's packaged Makefile (docs/sympl.md, "Which
 * Makefile make reads"): the package that ships `/etc/APP/Makefile` as a
 * conffile and its md5, asked of dpkg-query with the root's own database,
 * and the text on this server whose md5 is that one. A Makefile holding that
 * text counts as unmodified for dpkg and unattended-upgrades, so repair puts
 * that text back, never merely the newest.
 */
import { posix } from "node:path";
import { md5 } from "../hash.js";
import type { App } from "../server-layout.js";
import { appPaths } from "../server-layout.js";
import { savedRoot } from "../saved.js";
import type { Reader } from "../system/system.js";
import { childPath, serverPath } from "../paths.js";
import type { Observation, Packaged } from "./observe.js";

/** One conffile record: the package and the md5 dpkg keeps for it. */
export interface ConffileRecord {
  pkg: string;
  md5: string;
}

/**
 * Parses dpkg-query's `${Package}\n${Conffiles}\n` output into the records
 * of the paths in `wanted` (retired, `obsolete` ones left out). Pure.
 */
export function parseConffiles(out: string, wanted: readonly string[]): Map<string, ConffileRecord> {
  const found = new Map<string, ConffileRecord>();
  let pkg = "";
  for (const line of out.split("\n")) {
    if (line && !line.startsWith(" ")) pkg = line.trim();
    const [path, sum, flag] = line.trim().split(/\s+/);
    if (line.startsWith(" ") && path && wanted.includes(path) && /^[0-9a-f]{32}$/.test(sum ?? "") && flag !== "obsolete") found.set(path, { pkg, md5: sum! });
  }
  return found;
}

/** The records dpkg keeps for the apps' Makefiles; empty where no package owns one or dpkg-query is missing. */
export async function readConffileRecords(sys: Reader, apps: readonly App[]): Promise<Map<string, ConffileRecord>> {
  const admindir = sys.hostPath(serverPath("/var/lib/dpkg"));
  const r = await sys.run("dpkg-query", [`--admindir=${admindir}`, "-W", "-f=${Package}\\n${Conffiles}\\n"]);
  if (r.exitCode !== 0) return new Map();
  return parseConffiles(r.stdout, apps.map((app) => appPaths(app).makefile));
}

/**
 * `obs` with dpkg's record of its Makefile, and the text on this server
 * that matches it: among the Makefile, its variants, the Makefile
 * leftovers, the link's target, and the copies in the state dir.
 */
export function withPackaged(sys: Reader, obs: Observation, records: Map<string, ConffileRecord>): Observation {
  const rec = records.get(appPaths(obs.app).makefile);
  if (!rec) return { ...obs, packaged: null };
  const seen = [obs.makefile, obs.makefileSympl, obs.makefileLocal, ...obs.leftovers, ...(obs.linkTarget ? [obs.linkTarget] : [])];
  const here = seen.flatMap((s) => (s.kind === "file" && s.text !== undefined ? [s.text] : []));
  const match = here.find((t) => md5(t) === rec.md5) ?? savedMatch(sys, obs.app, rec.md5);
  const packaged: Packaged = { ...rec, text: match ?? null };
  return { ...obs, packaged };
}

/** A copy of a Makefile in the state dir whose md5 is `sum`, if one is there. */
function savedMatch(sys: Reader, app: App, sum: string): string | undefined {
  const dir = savedRoot(app);
  if (sys.stat(dir)?.type !== "dir") return undefined;
  for (const name of sys.list(dir).filter((n) => posix.basename(n).startsWith("Makefile"))) {
    const path = childPath(dir, name);
    if (sys.stat(path)?.type !== "file") continue;
    const text = sys.readFile(path).toString("utf8");
    if (md5(text) === sum) return text;
  }
  return undefined;
}
