/**
 * The subset of POSIX shell that the old installer's settings file is
 * written in, read the way `sh` would read it and never run: `NAME=value`
 * (bare, '…' or "…"), `export NAME=value`, `export NAME NAME…`, comments,
 * blank lines, CRLF line ends. Whatever a shell would execute or expand
 * (`$…`, backticks, `;`, `|`, `&`, redirections, a command word) is refused
 * with the number of the line it is on, never with the file's words: a
 * file that does not read as settings may be anything (a link's target,
 * a line holding the Spamhaus key), so nothing of it is quoted. Pure: text
 * in, assignments out.
 */

/** One `NAME=value` the shell would perform, with the line it starts on. */
export interface Assignment {
  name: string;
  value: string;
  line: number;
}

/** Why a line cannot be read as settings; `line` is its number. `what` and `fix` hold none of the file's text. */
export class ShellSubsetError extends Error {
  constructor(
    readonly line: number,
    readonly what: string,
    readonly fix: string,
  ) {
    super(what);
    this.name = "ShellSubsetError";
  }
}

/** A word as the shell splits it; `assignment` when it starts with an unquoted `NAME=`. */
interface Word {
  text: string;
  /** How many leading characters came from plain, unquoted, unescaped text. */
  plain: number;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const BLANK = new Set([" ", "\t"]);
const OPERATOR: Record<string, string> = {
  ";": "ends a command and starts another",
  "&": "runs a command in the background",
  "|": "pipes into a command",
  "<": "redirects input",
  ">": "redirects output",
  "(": "starts a subshell",
  ")": "ends a subshell",
};
const FIX_QUOTE = "the file is read as settings, never run: write a plain value, in single quotes if it holds such a character";

/** Every C0/C1 control character (CR and TAB included) as `\xNN`, so a message never carries one raw. */
export { escapeControls } from "../errors.js";

/** Reads a settings file's text; throws ShellSubsetError at the first line a shell would run or expand. */
export function readShellAssignments(text: string): Assignment[] {
  return new Reader(text.replace(/\r\n/g, "\n")).statements();
}

class Reader {
  private pos = 0;
  private lineNo = 1;
  constructor(private readonly text: string) {}

  statements(): Assignment[] {
    const out: Assignment[] = [];
    while (this.pos < this.text.length) {
      const start = this.lineNo;
      const words = this.words(start);
      if (words.length > 0) out.push(...this.meaning(words, start));
    }
    return out;
  }

  private refuse(line: number, what: string, fix = FIX_QUOTE): never {
    throw new ShellSubsetError(line, what, fix);
  }

  /** The words of one statement, up to its newline (or a comment). */
  private words(start: number): Word[] {
    const words: Word[] = [];
    for (;;) {
      while (BLANK.has(this.text[this.pos] ?? "")) this.pos += 1;
      const c = this.text[this.pos];
      if (c === undefined) return words;
      if (c === "\n") {
        this.pos += 1;
        this.lineNo += 1;
        return words;
      }
      if (c === "#") {
        while (this.pos < this.text.length && this.text[this.pos] !== "\n") this.pos += 1;
        continue;
      }
      words.push(this.word(start));
    }
  }

  /** One word: plain characters, quoted parts and backslash escapes, until a blank or newline. */
  private word(start: number): Word {
    let text = "";
    let plain = -1;
    const endPlain = () => {
      if (plain < 0) plain = text.length;
    };
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined || c === "\n" || BLANK.has(c)) break;
      this.pos += 1;
      if (c === "'") {
        endPlain();
        text += this.until("'", start);
      } else if (c === '"') {
        endPlain();
        text += this.doubleQuoted(start);
      } else if (c === "\\") {
        endPlain();
        const next = this.text[this.pos];
        this.pos += 1;
        if (next === "\n") this.lineNo += 1;
        else if (next !== undefined) text += next;
      } else if (c === "$") {
        this.refuse(this.lineNo, "`$` expands a variable or runs a command in a shell");
      } else if (c === "`") {
        this.refuse(this.lineNo, "a backtick runs a command in a shell");
      } else if (c === "~" && (text === "" || text.endsWith("="))) {
        this.refuse(this.lineNo, "`~` expands to a home directory in a shell");
      } else if (OPERATOR[c]) {
        this.refuse(this.lineNo, `\`${c}\` ${OPERATOR[c]} in a shell`);
      } else {
        text += c;
      }
    }
    endPlain();
    return { text, plain };
  }

  /** A single-quoted part: everything up to the closing quote, newlines included. */
  private until(quote: string, start: number): string {
    const close = this.text.indexOf(quote, this.pos);
    if (close < 0) this.refuse(start, `the ${quote} quote is never closed`, "close the quote");
    const body = this.text.slice(this.pos, close);
    this.lineNo += body.split("\n").length - 1;
    this.pos = close + 1;
    return body;
  }

  /** A double-quoted part: `\` escapes `$`, backtick, `"`, `\` and newline; `$` and backticks are refused. */
  private doubleQuoted(start: number): string {
    let body = "";
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined) this.refuse(start, 'the " quote is never closed', "close the quote");
      this.pos += 1;
      if (c === '"') return body;
      if (c === "$") this.refuse(this.lineNo, "`$` inside double quotes expands a variable or runs a command in a shell");
      if (c === "`") this.refuse(this.lineNo, "a backtick runs a command in a shell");
      if (c === "\n") this.lineNo += 1;
      if (c !== "\\") {
        body += c;
        continue;
      }
      const next = this.text[this.pos] ?? "";
      if ("$`\"\\\n".includes(next) && next !== "") {
        this.pos += 1;
        if (next === "\n") this.lineNo += 1;
        else body += next;
      } else {
        body += "\\";
      }
    }
  }

  /** What a statement means: assignments, or `export` of assignments and names; anything else would run. */
  private meaning(words: Word[], line: number): Assignment[] {
    const [first, ...rest] = words as [Word, ...Word[]];
    const isExport = first.text === "export" && first.plain === first.text.length;
    const out: Assignment[] = [];
    for (const word of isExport ? rest : words) {
      const assignment = assignmentOf(word, line);
      if (assignment) out.push(assignment);
      else if (isExport && NAME.test(word.text) && word.plain === word.text.length) continue;
      else if (isExport) this.refuse(line, "a word after `export` does not name a setting", "export takes NAME or NAME=value");
      else if (word === first) this.refuse(line, "the line starts with a word that is not NAME=value: a shell would run it as a command", "keep only NAME=value lines (no blank around `=`) and comments: the file is read as settings, never run");
      else this.refuse(line, "a word after the setting would run as a command in a shell", 'write NAME=value with no blank after `=`; a value with blanks must be quoted: NAME="a b"');
    }
    if (isExport && rest.length === 0) this.refuse(line, "`export` alone lists the environment", "name the settings to export, or remove the line");
    return out;
  }
}

/** The assignment a word makes, when it starts with an unquoted `NAME=`. */
function assignmentOf(word: Word, line: number): Assignment | null {
  const eq = word.text.indexOf("=");
  if (eq <= 0 || eq >= word.plain) return null;
  const name = word.text.slice(0, eq);
  return NAME.test(name) ? { name, value: word.text.slice(eq + 1), line } : null;
}
