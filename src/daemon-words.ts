/**
 * What exim and dovecot say about a config, put in the admin's terms before
 * any of it is shown, logged or mailed: the Spamhaus key masked (exim
 * prints a refused line with its macros expanded), the version and
 * copyright lines and dovecot's settings dump left out, and a line of the
 * assembled scratch file named as the snippet that holds it, found by the
 * banner the Makefile writes above every snippet (docs/sympl.md, "The
 * assembled config").
 */

/** A snippet and the line in it a daemon complained about. */
export interface Source {
  /** The snippet as a server path (`/etc/exim4/sympl-local.d/…`). */
  file: string;
  /** 1-based, counted in the snippet itself. */
  line: number;
}

/** A daemon's complaint, as we relay it. */
export interface DaemonWords {
  /** One line per complaint, masked and mapped. */
  text: string;
  /** Where the first complaint points, when it names a line of a snippet. */
  source?: Source;
}

const MASK = "********";

/**
 * The key where exim's expanded text can hold it: the label before a
 * keyed Spamhaus zone (`….KEY.zen.dq.spamhaus.net`), and the value of the
 * macro that defines it (the key file, an old 35-spamhaus-key).
 */
const KEYED_LABEL = /(?<![\w-])[A-Za-z0-9]+(?=\.[A-Za-z0-9-]+\.dq\.spamhaus\.net)/g;
const KEY_DEFINITION = /(SPAMHAUS_DQ_KEY\s*=\s*)[^\s"'}]+/g;

/**
 * `text` with the Spamhaus key masked: the one function every daemon line
 * passes through before it reaches stderr, `--json`, the action log or a
 * mail. It needs no key to know it: the key's place in the text is enough.
 */
export function maskKey(text: string): string {
  // A whole label only: the macro's own name (SPAMHAUS_DQ_KEY, unexpanded) is no key.
  return text.replace(KEY_DEFINITION, `$1${MASK}`).replace(KEYED_LABEL, MASK);
}

/**
 * A banner: a comment line naming a snippet of either tree (`# PATH`, or
 * `# from PATH`, PATH full or relative to the app's directory) between two
 * comment lines (`#`, or a rule of dashes), as our scratch copy and the
 * Makefile write them.
 */
const BANNER_PATH = /^#\s+(?:\w+\s+)?\S*?\b(sympl(?:-local)?\.d\/\S+)\s*$/;
const BANNER_EDGE = /^#(?:\s*-+)?\s*$/;

/** Where each snippet of an assembled config starts: the line after its banner (1-based), and its server path. */
function snippetStarts(assembled: string, app: string): Array<{ first: number; file: string }> {
  const lines = assembled.split("\n");
  const starts: Array<{ first: number; file: string }> = [];
  for (let i = 1; i + 1 < lines.length; i++) {
    const m = BANNER_PATH.exec(lines[i]!);
    if (m && BANNER_EDGE.test(lines[i - 1]!) && BANNER_EDGE.test(lines[i + 1]!)) starts.push({ first: i + 3, file: `/etc/${app}/${m[1]}` });
  }
  return starts;
}

/** The snippet that holds line `n` of `assembled`, or undefined for a line before the first banner or on one. */
export function sourceOfLine(assembled: string, app: string, n: number): Source | undefined {
  const start = snippetStarts(assembled, app).filter((s) => s.first <= n).at(-1);
  return start ? { file: start.file, line: n - start.first + 1 } : undefined;
}

/** The last line (1-based) of `assembled` that sets dovecot's `setting`, for a complaint that names no line. */
function lineSetting(assembled: string, setting: string): number | undefined {
  const re = new RegExp(`^\\s*${setting.replace(/[^A-Za-z0-9_]/g, "")}\\s*=`);
  const lines = assembled.split("\n");
  for (let i = lines.length - 1; i >= 0; i--) if (re.test(lines[i]!)) return i + 1;
  return undefined;
}

/** A snippet as the admin sees it in a message: relative to the app's directory. */
function shown(source: Source): string {
  return source.file.replace(/^\/etc\/[^/]+\//, "");
}

/** exim: `[DATE TIME ]Exim configuration error in line N of FILE:` then the complaint, indented. */
const EXIM_AT = /^(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d )?Exim configuration error in line (\d+) of (\S+):$/;
/** Where exim's complaint ends and its build information begins. */
const EXIM_NOISE = /^Exim version /;
/** dovecot: `doveconf: Fatal: Error in configuration file FILE[ line N]: MESSAGE`. */
const DOVECOT_AT = /^doveconf: Fatal: Error in configuration file (\S+?)(?: line (\d+))?: (.*)$/;

/** One refusal named by its snippet: `SNIPPET: line N: MESSAGE`, or the message as it was. */
function located(source: Source | undefined, message: string, fallback: string): { line: string; source?: Source } {
  return source ? { line: `${shown(source)}: line ${source.line}: ${message}`, source } : { line: fallback };
}

/** exim's words: the located complaint, without the build information after it. */
function eximWords(lines: string[], assembled: (file: string) => string | null): Array<{ line: string; source?: Source }> {
  const out: Array<{ line: string; source?: Source }> = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (EXIM_NOISE.test(line)) break;
    const at = EXIM_AT.exec(line);
    if (!at) {
      if (line) out.push({ line });
      continue;
    }
    // The complaint is the indented lines that follow.
    const said: string[] = [];
    while (i + 1 < lines.length && /^\s+\S/.test(lines[i + 1]!)) said.push(lines[++i]!.trim());
    const message = said.join(" ") || "refused";
    const text = assembled(at[2]!);
    const source = text === null ? undefined : sourceOfLine(text, "exim4", Number(at[1]));
    out.push(located(source, message, `line ${at[1]} of ${at[2]}: ${message}`));
  }
  return out;
}

/** dovecot's words: its fatal complaint located; its `Error:` lines that only repeat it, its settings dump and `#` lines left out. */
function dovecotWords(lines: string[], assembled: (file: string) => string | null): Array<{ line: string; source?: Source }> {
  const fatal = lines.map((l) => DOVECOT_AT.exec(l.trim())).find((m) => m !== null);
  const errors = lines.map((l) => l.trim()).filter((l) => l.startsWith("doveconf: ") && !DOVECOT_AT.test(l));
  const out: Array<{ line: string; source?: Source }> = errors
    .map((l) => l.replace(/^doveconf: (?:Error|Fatal|Warning): /, ""))
    .filter((l) => !fatal || !fatal[3]!.endsWith(l))
    .map((line) => ({ line }));
  if (fatal) {
    const [, file, n, message] = fatal as unknown as [string, string, string | undefined, string];
    const text = assembled(file);
    // A complaint about a setting's value names no line: the last line that sets it is the one in force.
    const setting = /^([a-z_]+): /.exec(message)?.[1];
    const lineNo = n !== undefined ? Number(n) : setting && text !== null ? lineSetting(text, setting) : undefined;
    const source = text === null || lineNo === undefined ? undefined : sourceOfLine(text, "dovecot", lineNo);
    out.unshift(located(source, message, `${file}${n ? ` line ${n}` : ""}: ${message}`));
  }
  return out;
}

/**
 * A daemon's refusal of a config in our words. `assembled` gives the text
 * of the config file the daemon names (the scratch copy we wrote, or the
 * Makefile's `APP.conf.tmp`), or null when it cannot be read: the line is
 * then kept as the daemon said it, masked.
 */
export function daemonWords(app: "exim4" | "dovecot", output: string, assembled: (file: string) => string | null): DaemonWords {
  const lines = maskKey(output).split("\n");
  const words = app === "exim4" ? eximWords(lines, assembled) : dovecotWords(lines, assembled);
  const source = words.find((w) => w.source)?.source;
  return { text: words.map((w) => w.line).join("\n"), ...(source ? { source } : {}) };
}
