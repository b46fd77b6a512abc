/**
 * The daemon's own verdict on a snippet tree, before it goes live: the
 * snippets are concatenated the way the Makefile's `$(conf_tmp)` rule does
 * (sorted by path, a banner per file) into a scratch file, and the real
 * binary parses it (`exim4 -bV -C`, `dovecot -a -c`), as the Makefile's
 * `test` target would.
 */
import type { App, Mode } from "../server-layout.js";
import { DAEMON_BINARY, snippetDir } from "../server-layout.js";
import { followLinks } from "../system/safe-path.js";
import { EnvironmentError, problem } from "../errors.js";
import { scanTree } from "./scan.js";
import type { Reader } from "../system/system.js";

/** The daemon's verdict; `skipped` when its binary is not installed. */
export interface ConfigTestResult {
  status: "passed" | "failed" | "skipped";
  /** What the daemon printed (or why the test was skipped). */
  output: string;
}

const RULE = "# ------------------------------------------------------------------------------";

/**
 * Reads what a snippet link points at, resolving each hop inside the root as
 * a chroot would (the old tooling's links are absolute server paths).
 */
function readThroughLinks(sys: Reader, path: string): Buffer {
  const end = followLinks(sys, path, () => new EnvironmentError(problem(path, "too many levels of symbolic links", "repair or remove the link")));
  if (!sys.stat(end)) throw new EnvironmentError(problem(path, `link leads to ${end}, which is missing`, "repair or remove the link"));
  return sys.readFile(end);
}

/** The config `make` would assemble from `app`'s `mode` tree. */
export function assembleConfig(sys: Reader, app: App, mode: Mode): string {
  const dir = snippetDir(app, mode);
  const scan = scanTree(sys, dir, { links: mode === "local" });
  const parts: string[] = [];
  for (const s of scan.snippets.values()) {
    const path = `${dir}/${s.rel}`;
    const body = readThroughLinks(sys, path).toString("utf8");
    parts.push(`${RULE}\n# ${path}\n${RULE}\n${body}${body.endsWith("\n") || body === "" ? "" : "\n"}`);
  }
  return parts.join("");
}

/** The daemon's arguments for testing a config file (host path). */
function testArgs(app: App, hostFile: string): string[] {
  return app === "exim4" ? ["-bV", "-C", hostFile] : ["-a", "-c", hostFile];
}

/**
 * Runs the daemon's config test on `app`'s `mode` tree as it is on disk.
 * Never throws for a failing config: that is a `failed` result.
 */
export async function runConfigTest(sys: Reader, app: App, mode: Mode): Promise<ConfigTestResult> {
  const config = assembleConfig(sys, app, mode);
  return sys.withScratchFile(`${app}.conf.tmp`, config, async (file) => {
    const result = await sys.run(DAEMON_BINARY[app], testArgs(app, file));
    if (result.exitCode === 127) return { status: "skipped", output: `${DAEMON_BINARY[app]} is not installed` };
    const output = [result.stderr, result.stdout].filter((s) => s.trim()).join("\n").trim();
    return { status: result.exitCode === 0 ? "passed" : "failed", output };
  });
}

/** The first lines of the daemon's complaint, for one-screen output. */
export function errorLines(result: ConfigTestResult, max = 6): string[] {
  return result.output
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, max);
}
