/**
 * The tokenizer that stands in for node's util.parseArgs (src/argv-tokens.ts):
 * the cases where a plausible tokenizer differs from node's, each with the
 * tokens node gives for it.
 */
import { describe, expect, it } from "vitest";
import { argvTokens } from "../src/argv-tokens.js";
import type { ArgvToken, TokenOption } from "../src/argv-tokens.js";
import { tokenOptions } from "../src/args.js";

/** A small table like args.ts's: a value option with a letter, flags with and without one, a negation. */
const OPTIONS: Record<string, TokenOption> = {
  app: { type: "string", short: "a" },
  quiet: { type: "boolean", short: "q" },
  json: { type: "boolean" },
  color: { type: "boolean" },
  "no-color": { type: "boolean" },
  wait: { type: "string" },
};

const opt = (name: string, rawName: string, value?: string, inlineValue?: boolean): ArgvToken => ({ kind: "option", name, rawName, value, inlineValue });
const pos = (value: string): ArgvToken => ({ kind: "positional", value });
const END: ArgvToken = { kind: "option-terminator" };

describe("argvTokens, as node's parseArgs", () => {
  it.each<[string[], ArgvToken[]]>([
    // A value option takes the next word, even one that looks like an option; at the end it has none.
    [["--app", "--json"], [opt("app", "--app", "--json", false)]],
    [["-a", "-q", "status"], [opt("app", "-a", "-q", false), pos("status")]],
    [["--wait"], [opt("wait", "--wait")]],
    // `=` gives an inline value, an empty one too, and to a flag as well (args.ts refuses that).
    [["--wait=", "--app=a=b", "--json=yes"], [opt("wait", "--wait", "", true), opt("app", "--app", "a=b", true), opt("json", "--json", "yes", true)]],
    // Letters: a group of flags, and a value option's value in the same word, after a group too.
    [["-qq", "-aexim4", "-qadovecot"], [opt("quiet", "-q"), opt("quiet", "-q"), opt("app", "-a", "exim4", true), opt("quiet", "-q"), opt("app", "-a", "dovecot", true)]],
    [["-qa", "exim4"], [opt("quiet", "-q"), opt("app", "-a", "exim4", false)]],
    // Unknown options are flags named as written; `--no-x` is just a name.
    // node looks for `=` from the name's second character: `--=x` is a name, `--=a=b` the name "" with a value.
    [["--=x", "--=a=b"], [opt("=x", "--=x"), opt("", "--", "a=b", true)]],
    [["--frob=1", "-x", "--no-color", "--no-json"], [opt("frob", "--frob", "1", true), opt("x", "-x"), opt("no-color", "--no-color"), opt("no-json", "--no-json")]],
    // `--` ends the options; a lone `-` and "" are positionals.
    [["status", "--", "--json", "-q"], [pos("status"), END, pos("--json"), pos("-q")]],
    [["-", "", "--json"], [pos("-"), pos(""), opt("json", "--json")]],
    // A `-` inside a group is a `--` of its own, and ends the options there.
    [["-q-a", "x"], [opt("quiet", "-q"), END, pos("-a"), pos("x")]],
  ])("%j", (argv, tokens) => {
    expect(argvTokens(argv, OPTIONS)).toEqual(tokens);
  });

  it("gives a letter two options declare to the first of them", () => {
    expect(argvTokens(["-v"], { verbose: { type: "boolean", short: "v" }, version: { type: "boolean", short: "v" } })).toEqual([opt("verbose", "-v")]);
  });

  it("reads the real table: -a is --app, --no-check a name of its own", () => {
    expect(argvTokens(["sync", "-qaexim4", "--no-check"], tokenOptions())).toEqual([pos("sync"), opt("quiet", "-q"), opt("app", "-a", "exim4", true), opt("no-check", "--no-check")]);
  });
});
