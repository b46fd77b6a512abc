/**
 * The daemon's own verdict on a snippet tree, before it goes live: the
 * snippets are concatenated the way the Makefile's `$(conf_tmp)` rule does
 * (sorted by path, a banner per file) into a scratch file, and the real
 * binary parses it (`exim4 -bV -C`, `dovecot -a -c`), as the Makefile's
 * `test` target would.
 */
import type { App, Mode } from "../server-layout.js";
import { DAEMON_BINARY, SPAMHAUS_KEY_PATH, snippetDir } from "../server-layout.js";
import { daemonWords } from "../daemon-words.js";
import type { Source } from "../daemon-words.js";
import { followLinks } from "../system/safe-path.js";
import { EnvironmentError, problem } from "../errors.js";
import { scanTree } from "./scan.js";
import type { Entry, Reader, RunResult } from "../system/system.js";
import { inTree } from "../paths.js";
import type { ServerPath, SnippetPath } from "../paths.js";

/** The daemon's verdict; `skipped` only when its binary does not exist. */
export interface ConfigTestResult {
  status: "passed" | "failed" | "skipped";
  /** What the daemon said, in our words (daemon-words.ts), or why the test was skipped. */
  output: string;
  /** The snippet and line the daemon's complaint points at. */
  source?: Source;
}

const RULE = "# ------------------------------------------------------------------------------";

/**
 * Where a snippet (or the chain of links it is) ends, each hop resolved
 * inside the root as a chroot would (the old tooling's links are absolute
 * server paths), and that file's lstat.
 */
function endOf(sys: Reader, path: ServerPath): { end: ServerPath; entry: Entry } {
  const end = followLinks(sys, path, () => new EnvironmentError(problem(path, "too many levels of symbolic links", "repair or remove the link")));
  const entry = sys.stat(end);
  if (!entry) throw new EnvironmentError(problem(path, `link leads to ${end}, which is missing`, "repair or remove the link"));
  return { end, entry };
}

/** One snippet of a tree: its path, what `cat` gives for it, and when those bytes last changed. */
export interface ReadSnippet {
  rel: SnippetPath;
  path: ServerPath;
  body: string;
  /** Latest of mtime and ctime of the file (a link's target): dpkg keeps a package's mtime, never the ctime. */
  changedMs: number;
}

/** One snippet of a tree before it is read: the file `cat` reads for it (a link's end) and that file's lstat numbers. */
export interface TreeFile {
  rel: SnippetPath;
  path: ServerPath;
  end: ServerPath;
  stamp: Pick<Entry, "ino" | "size" | "mtimeMs" | "ctimeMs">;
}

/**
 * Every snippet `app`'s `mode` tree builds in, in the Makefile's order,
 * unread.
 */
function treeFiles(sys: Reader, app: App, mode: Mode): TreeFile[] {
  const dir = snippetDir(app, mode);
  const snippets = scanTree(sys, dir, { links: mode === "local" }).snippets;
  return [...snippets.values()].map((s) => {
    const path = inTree(dir, s.rel);
    // A plain file's scan already holds its numbers; a link's are its target's.
    const { end, entry } = s.type === "file" && s.stamp ? { end: path, entry: s.stamp } : endOf(sys, path);
    return { rel: s.rel, path, end, stamp: entry };
  });
}

/** Every snippet `app`'s `mode` tree builds in, in the Makefile's order, with its text. */
export function treeSnippets(sys: Reader, app: App, mode: Mode): ReadSnippet[] {
  return treeFiles(sys, app, mode).map(({ rel, path, end, stamp }) => ({
    rel,
    path,
    body: sys.readFile(end).toString("utf8"),
    changedMs: Math.max(stamp.mtimeMs ?? 0, stamp.ctimeMs ?? 0),
  }));
}

/** The config `make` would assemble from `app`'s `mode` tree. */
export function assembleConfig(sys: Reader, app: App, mode: Mode): string {
  return treeSnippets(sys, app, mode)
    .map(({ path, body }) => `${RULE}\n# ${path}\n${RULE}\n${body}${body.endsWith("\n") || body === "" ? "" : "\n"}`)
    .join("");
}

/** The daemon's arguments for testing a config file (host path). */
function testArgs(app: App, hostFile: string): string[] {
  return app === "exim4" ? ["-bV", "-C", hostFile] : ["-a", "-c", hostFile];
}

/**
 * The config as the scratch copy for the daemon holds it: ch10's include of
 * the key file names the key file under --root, so that a test of a root
 * never reads the host's (the snippet on disk keeps `ETC_DIR`, which the
 * server's exim resolves to /etc).
 */
function scratchConfig(sys: Reader, app: App, config: string): string {
  if (app !== "exim4") return config;
  return config.replace(KEY_INCLUDE, (_, head: string) => `${head}${sys.hostPath(SPAMHAUS_KEY_PATH)}`);
}

const KEY_INCLUDE = /^(\.include(?:_if_exists)?[ \t]+)ETC_DIR\/exim4\/spamhaus-key[ \t]*$/gm;

/** Why a run that did not finish on its own failed, in words. */
function stoppedWords(cmd: string, stopped: NonNullable<RunResult["stopped"]>): string {
  return "signal" in stopped ? `${cmd} was killed by ${stopped.signal} before it gave its verdict` : `${cmd} gave no verdict within ${stopped.timeoutMs / 1000} s`;
}

/**
 * Runs the daemon's config test on `app`'s `mode` tree as it is on disk.
 * Never throws for a failing config: that is a `failed` result, and so is
 * a daemon killed or timed out. Only a binary that does not exist skips.
 */
export async function runConfigTest(sys: Reader, app: App, mode: Mode): Promise<ConfigTestResult> {
  const config = scratchConfig(sys, app, assembleConfig(sys, app, mode));
  return sys.withScratchFile(`${app}.conf.tmp`, config, async (file) => {
    const cmd = DAEMON_BINARY[app];
    const result = await sys.run(cmd, testArgs(app, file));
    if (result.missing) return { status: "skipped", output: `${cmd} is not installed` };
    if (result.stopped) return { status: "failed", output: stoppedWords(cmd, result.stopped) };
    if (result.exitCode === 0) return { status: "passed", output: "" };
    const said = [result.stderr, result.stdout].filter((s) => s.trim()).join("\n").trim();
    const words = daemonWords(app, said, (named) => (named === file ? config : null));
    return { status: "failed", output: words.text || `${cmd} exited ${result.exitCode}`, ...(words.source ? { source: words.source } : {}) };
  });
}

/** The daemon's complaint on one line: its first `max` lines joined by ` | `, for a one-line message. */
export function refusalWords(result: ConfigTestResult, max = 3): string {
  return result.output
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, max)
    .join(" | ");
}
