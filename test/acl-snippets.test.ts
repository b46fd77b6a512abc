/**
 * The snippet texts as data, before any daemon sees them: each one can be
 * concatenated after any other (the Makefile does exactly that), uses only
 * the documented placeholders, and the keyed Spamhaus rules cannot show
 * the key. The real exim and dovecot proofs are in the other acl-* and
 * dovecot-changes tests.
 */
import { describe, expect, it } from "vitest";
import { SNIPPETS, SPAMHAUS_KEY_FILE_TEXT } from "../src/catalogue/snippets.js";
import { isSnippetName } from "../src/server-layout.js";

const entries = Object.entries(SNIPPETS);

/** The placeholders each file may hold (the module's doc comment lists them). */
const ALLOWED: Record<string, string[]> = {
  "10-main/15-imap-ports": ["IMAP_PORT", "IMAPS_PORT"],
  "00-main/25-logging": ["LOG_SELECTOR"],
  "00-main/22-dns-check-in-connect": ["DNSBL_CHECK_IN_CONNECT"],
};

function placeholders(text: string): string[] {
  return [...text.matchAll(/@@([A-Z0-9_]+)@@/g)].map((m) => m[1]!);
}

/** The lines between `.ifdef SPAMHAUS_DQ_KEY` and its `.else`/`.endif`. */
function keyedLines(text: string): string[] {
  const keyed: string[] = [];
  let inside = false;
  for (const line of text.split("\n")) {
    if (line === ".ifdef SPAMHAUS_DQ_KEY") inside = true;
    else if (line === ".else" || line === ".endif") inside = false;
    else if (inside) keyed.push(line);
  }
  return keyed;
}

describe("snippet texts", () => {
  it("cover ch1 to ch14 except ch11 (an edit only), with names the Makefile builds in", () => {
    const changes = new Set(entries.map(([, s]) => s.change));
    expect([...changes].sort()).toEqual(["ch1", "ch10", "ch12", "ch13", "ch14", "ch2", "ch3", "ch4", "ch5", "ch6", "ch7", "ch8", "ch9"]);
    for (const [path] of entries) expect(path.split("/").every(isSnippetName), path).toBe(true);
  });

  it.each(entries)("%s ends with a newline and balances its conditionals", (_path, { text }) => {
    // The Makefile concatenates snippets: a missing newline glues the last
    // line to the next file's first, an open .ifdef swallows the rest.
    expect(text.endsWith("\n")).toBe(true);
    const opened = text.split("\n").filter((l) => /^\.if(n?def)?\b/.test(l)).length;
    const closed = text.split("\n").filter((l) => l === ".endif").length;
    expect(closed).toBe(opened);
  });

  it.each(entries)("%s holds only its documented placeholders", (path, { text }) => {
    expect(placeholders(text).sort()).toEqual([...(ALLOWED[path] ?? [])].sort());
  });

  it("keyed rules never name the matched domain, which carries the key", () => {
    const keyed = entries.flatMap(([, s]) => keyedLines(s.text));
    expect(keyed.some((l) => l.includes("SPAMHAUS_DQ_KEY"))).toBe(true);
    expect(keyed.filter((l) => /\$dnslist_(domain|matched)|\bdnslists\s*=/.test(l))).toEqual([]);
    expect(keyed.filter((l) => /^\s*(log_)?message\s*=.*SPAMHAUS_DQ_KEY/.test(l))).toEqual([]);
  });

  it("no snippet holds the key: ch10's only includes the key file, which alone defines it", () => {
    const active = (text: string) => text.split("\n").filter((l) => l.trim() && !l.startsWith("#"));
    expect(active(SNIPPETS["00-main/35-spamhaus-key"]!.text)).toEqual([".include_if_exists ETC_DIR/exim4/spamhaus-key"]);
    for (const [path, { text }] of entries) expect(text, path).not.toMatch(/^\s*SPAMHAUS_DQ_KEY\s*=/m);
    expect(active(SPAMHAUS_KEY_FILE_TEXT)).toEqual(["SPAMHAUS_DQ_KEY = @@SPAMHAUS_DQ_KEY@@"]);
  });

  it("ch6 refuses with the exact message the firewall looks for", () => {
    const text = SNIPPETS["10-acl/10-acl-check-connect/30-firewall-history"]!.text;
    const messages = text.split("\n").filter((l) => /^\s*message\s*=/.test(l));
    expect(messages.length).toBe(2);
    for (const m of messages) expect(m.trim()).toBe("message = Blacklisted: Denied access - history of unwanted activity");
  });
});
