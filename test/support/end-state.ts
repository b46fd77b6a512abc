/**
 * A tree's end state for "the next run ends where an uninterrupted run
 * ends" comparisons (the fault matrix, the kill test): one sorted line per
 * path with mode, owner and content hash, timestamps in names and texts
 * made neutral, the stat cache and the logs left out.
 */
import { createHash } from "node:crypto";
import { lstatSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";

/** Timestamps as run names and saved copies spell them, replaced by fixed words. */
function neutral(s: string): string {
  return s.replace(/\d{8}T\d{6}Z|\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ/g, "STAMP").replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "TIME");
}

/** The sorted lines of `root`'s end state. */
export function endState(root: string): string[] {
  const out: string[] = [];
  const visit = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const r = `${rel}/${name}`;
      if (r.startsWith("/var/lib/makefilecheck/cache") || r.startsWith("/var/log")) continue;
      const st = lstatSync(path);
      const head = `${neutral(r)} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isSymbolicLink()) out.push(`${head} -> ${readlinkSync(path)}`);
      else if (st.isFile()) out.push(`${head} ${createHash("sha256").update(neutral(readFileSync(path, "latin1"))).digest("hex")}`);
      else out.push(`${head}/`);
      if (st.isDirectory()) visit(path, r);
    }
  };
  visit(root, "");
  return out.sort();
}
