/**
 * The command line cut into tokens exactly as node's util.parseArgs cuts it
 * with `{ allowPositionals: true, strict: false, tokens: true }`, for the
 * fields args.ts reads. Our own because parseArgs is two modules Node does
 * not load at start-up, and on Debian's Node 18, which has no code cache
 * for its built-in modules, loading them cost about 2% of `status`'s start
 * (docs/architecture.md, Budgets).
 *
 * The rules are node's, odd corners included, so that a command line
 * means what it meant before: a value option takes the next word whatever
 * it looks like (`--app --json` gives `--json` as the value; args.ts
 * refuses that itself), an unknown option is a flag named by its spelling,
 * and a short group is read as its letters, so `-q-` holds a `--` that ends
 * the options.
 */

/** What the tokenizer needs of an option: whether it takes a value, and its letter. */
export interface TokenOption {
  type: "string" | "boolean";
  short?: string;
}

/**
 * One token, as util.parseArgs gives it (less `index`, which nothing reads).
 * An option's `value` is undefined for a flag and for a value option at the
 * end of the line; `inlineValue` says whether it came after `=` or in the
 * same word as a letter (`-aexim4`).
 */
export type ArgvToken =
  | { kind: "option"; name: string; rawName: string; value: string | undefined; inlineValue: boolean | undefined }
  | { kind: "positional"; value: string }
  | { kind: "option-terminator" };

/** `argv` (without node and the script) cut into tokens against `options` (long name → option). */
export function argvTokens(argv: readonly string[], options: Readonly<Record<string, TokenOption>>): ArgvToken[] {
  // Own properties only: `--constructor` or `--__proto__` is an unknown option, not Object's.
  const takesValue = (name: string) => Object.hasOwn(options, name) && options[name]!.type === "string";
  // A letter stands for the first option that declares it; an undeclared one names itself.
  const byLetter = new Map<string, string>();
  for (const [name, o] of Object.entries(options)) if (o.short !== undefined && !byLetter.has(o.short)) byLetter.set(o.short, name);
  const longOf = (letter: string) => byLetter.get(letter) ?? letter;

  const tokens: ArgvToken[] = [];
  const rest = [...argv];
  // A value option followed by any word, even `-x` or "", takes it as its value.
  const option = (name: string, rawName: string) => {
    const value = takesValue(name) && rest.length > 0 ? rest.shift() : undefined;
    tokens.push({ kind: "option", name, rawName, value, inlineValue: value === undefined ? undefined : false });
  };
  while (rest.length > 0) {
    const arg = rest.shift()!;
    if (arg === "--") {
      tokens.push({ kind: "option-terminator" });
      for (const value of rest) tokens.push({ kind: "positional", value });
      break;
    }
    // "", `-` and anything not starting with a dash.
    if (arg.length < 2 || arg[0] !== "-") {
      tokens.push({ kind: "positional", value: arg });
    } else if (arg[1] === "-") {
      // Node looks for the `=` from the fourth character on, so `--=x` is an
      // option named `=x`, while `--=a=b` is one named "" with the value `a=b`.
      if (arg.includes("=", 3)) {
        const at = arg.indexOf("=");
        const name = arg.slice(2, at);
        tokens.push({ kind: "option", name, rawName: `--${name}`, value: arg.slice(at + 1), inlineValue: true });
      } else {
        option(arg.slice(2), arg);
      }
    } else if (arg.length === 2) {
      option(longOf(arg[1]!), arg);
    } else if (takesValue(longOf(arg[1]!))) {
      // `-aexim4`: the rest of the word is the value, whatever it holds.
      tokens.push({ kind: "option", name: longOf(arg[1]!), rawName: `-${arg[1]}`, value: arg.slice(2), inlineValue: true });
    } else {
      // A group, `-qh`: each letter becomes a word of its own and is read
      // again, up to a value option, which keeps the rest of the group as
      // its value (`-qafoo` is `-q -afoo`; `-qa` is `-q -a`, and `-a` takes
      // the next word). A `-` letter becomes `--` and ends the options
      // there, as in node.
      const parts: string[] = [];
      for (let i = 1; i < arg.length; i++) {
        if (takesValue(longOf(arg[i]!))) {
          parts.push(`-${arg.slice(i)}`);
          break;
        }
        parts.push(`-${arg[i]}`);
      }
      rest.unshift(...parts);
    }
  }
  return tokens;
}
