/**
 * The catalogue's edits of upstream's main options, by intent, as pure
 * functions: applied, undone, judged per file, re-derived on a newer
 * upstream text, and ch3's one log_selector built from upstream's flags.
 * Tables over the shapes real trees have: aligned `=`, continuation lines,
 * a `#` inside a value, no such line at all, the old installer's comments.
 */
import { describe, expect, it } from "vitest";
import { CATALOGUE, OUR_LOG_FLAGS, changeById, changeFiles } from "../src/catalogue/catalogue.js";
import type { OptionEdit } from "../src/catalogue/catalogue.js";
import { applyEdit, deriveWithKnownEdits, editPartState, editsFor, logSelectorFor, undoEdit } from "../src/catalogue/edits.js";
import { SNIPPETS } from "../src/catalogue/snippets.js";
import { isSnippetName } from "../src/server-layout.js";
import { UPSTREAM_TREES } from "./fixtures/sympl.js";

const TLS = UPSTREAM_TREES.exim4["00-main/50-tls-options"] ?? "";
const GENERAL = UPSTREAM_TREES.exim4["00-main/60-general-options"] ?? "";
const [ch3] = changeById("ch3").edits as [OptionEdit];
const [ch4] = changeById("ch4").edits as [OptionEdit];
const [ch11] = changeById("ch11").edits as [OptionEdit];
const AUTH_TLS_ONLY = "auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{no_matching_hosts}{*}}";
const AUTH_CURRENT = "auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}";

describe("the catalogue", () => {
  it("declares every change once, ch11 alone off by default", () => {
    expect(CATALOGUE.map((c) => c.id)).toEqual(["ch1", "ch2", "ch3", "ch4", "ch5", "ch6", "ch7", "ch8", "ch9", "ch10", "ch11", "ch12", "ch13", "ch14"]);
    expect(CATALOGUE.filter((c) => !c.defaultOn).map((c) => c.id)).toEqual(["ch11"]);
    for (const id of ["ch6", "ch7", "ch12", "ch13"] as const) expect(changeById(id).needs).toContain("ch5");
  });

  it("has a snippet text for every added file, in the change's app, under a name the Makefile builds", () => {
    for (const [rel, s] of Object.entries(SNIPPETS)) {
      const c = CATALOGUE.find((x) => x.id === s.change);
      expect(c?.app, rel).toBe(s.app);
      for (const part of rel.split("/")) expect(isSnippetName(part), rel).toBe(true);
    }
    for (const c of CATALOGUE) expect(changeFiles(c.id).length + c.edits.length, c.id).toBeGreaterThan(0);
  });

  it("replaces only files upstream ships, and adds only files it does not", () => {
    for (const c of CATALOGUE) {
      for (const rel of changeFiles(c.id)) {
        const upstream = UPSTREAM_TREES[c.app][rel] !== undefined;
        expect(upstream, `${c.id} ${rel}`).toBe(c.replaces.includes(rel));
      }
    }
  });

  it("edits upstream's main options only, never a file of ours", () => {
    expect(editsFor("exim4", "00-main/50-tls-options")).toEqual([ch3, ch4, ch11]);
    expect(editsFor("exim4", "00-main/25-logging")).toEqual([]);
    expect(editsFor("exim4", "10-acl/00-begin")).toEqual([]);
    expect(editsFor("dovecot", "00-main/50-tls-options")).toEqual([]);
  });
});

describe("apply and undo, by intent", () => {
  const table: Array<[string, OptionEdit, string, string]> = [
    ["ch3, today's line", ch3, "a = 1\nlog_selector = +tls_sni\nb = 2\n", "a = 1\n# log_selector = +tls_sni\nb = 2\n"],
    ["ch3, more flags and no blanks", ch3, "log_selector=+tls_sni +tls_peerdn -host_lookup_failed\n", "# log_selector=+tls_sni +tls_peerdn -host_lookup_failed\n"],
    ["ch3, a continuation line", ch3, "log_selector = +tls_sni \\\n  +tls_cipher\nx = 1\n", "# log_selector = +tls_sni \\\n#   +tls_cipher\nx = 1\n"],
    ["ch3, a # in the value is part of it", ch3, "log_selector = +tls_sni # +all\n", "# log_selector = +tls_sni # +all\n"],
    ["ch3, two settings", ch3, "log_selector = +a\nlog_selector = +b\n", "# log_selector = +a\n# log_selector = +b\n"],
    ["ch4, aligned, whatever the values", ch4, "rfc1413_hosts         = *\nrfc1413_query_timeout = 30s\n", "# rfc1413_hosts         = *\n# rfc1413_query_timeout = 30s\n"],
    ["ch4, today's lines", ch4, "rfc1413_hosts =\nrfc1413_query_timeout = 5s\n", "# rfc1413_hosts =\n# rfc1413_query_timeout = 5s\n"],
    ["ch3, indented", ch3, "  log_selector = +tls_sni\n", "#   log_selector = +tls_sni\n"],
    ["ch3, hidden from -bP", ch3, "hide log_selector = +tls_sni\n", "# hide log_selector = +tls_sni\n"],
    ["ch4, indented", ch4, "\trfc1413_hosts = *\n  rfc1413_query_timeout = 5s\n", "# \trfc1413_hosts = *\n#   rfc1413_query_timeout = 5s\n"],
    ["ch4, hidden from -bP", ch4, "hide rfc1413_hosts = *\nhide  rfc1413_query_timeout = 5s\n", "# hide rfc1413_hosts = *\n# hide  rfc1413_query_timeout = 5s\n"],
    ["ch11 swaps the word in the setting only", ch11, `# no_matching_hosts is used below\n${AUTH_TLS_ONLY}\n`, `# no_matching_hosts is used below\n${AUTH_TLS_ONLY.replace("no_matching_hosts", "localhost")}\n`],
  ];
  it.each(table)("%s", (_name, edit, from, to) => {
    expect(applyEdit(edit, from)).toBe(to);
    expect(applyEdit(edit, to)).toBe(to);
    expect(editPartState(edit, from, from)).toBe("absent");
    expect(editPartState(edit, to, from)).toBe("ours");
    expect(undoEdit(edit, to, from)).toBe(from);
  });

  it("undoes the old installer's comment style too", () => {
    expect(undoEdit(ch3, "#log_selector = +tls_sni\n", "log_selector = +tls_sni\n")).toBe("log_selector = +tls_sni\n");
  });

  it("leaves the admin's own comments alone when undoing", () => {
    const local = "# log_selector = +all\n# log_selector = +tls_sni\n";
    expect(undoEdit(ch3, local, "log_selector = +tls_sni\n")).toBe("# log_selector = +all\nlog_selector = +tls_sni\n");
  });
});

describe("what an edit finds in one file (not-needed, never a false modified)", () => {
  const table: Array<[string, OptionEdit, string | null, string | null, string]> = [
    ["ch3 where upstream has no log_selector", ch3, "tls_advertise_hosts = *\n", "tls_advertise_hosts = *\n", "upstream"],
    ["ch3 where the file is gone locally", ch3, null, "log_selector = +tls_sni\n", "ours"],
    ["ch3 where the admin deleted the line", ch3, "x = 1\n", "x = 1\nlog_selector = +tls_sni\n", "ours"],
    ["ch3 where upstream added a line after install", ch3, "# log_selector = +tls_sni\nlog_selector = +x\n", "log_selector = +tls_sni\n", "absent"],
    ["ch4 where upstream has no rfc1413 line", ch4, GENERAL.replace(/^rfc1413.*\n/gm, ""), GENERAL.replace(/^rfc1413.*\n/gm, ""), "upstream"],
    ["ch11 on current Sympl", ch11, `${AUTH_CURRENT}\n`, `${AUTH_CURRENT}\n`, "upstream"],
    ["ch11 without auth_advertise_hosts", ch11, "x = 1\n", "x = 1\n", "upstream"],
    ["ch11 where upstream already says localhost", ch11, `${AUTH_TLS_ONLY.replace("no_matching_hosts", "localhost")}\n`, `${AUTH_TLS_ONLY.replace("no_matching_hosts", "localhost")}\n`, "upstream"],
    ["ch11 where the admin rewrote the line", ch11, "auth_advertise_hosts = *\n", `${AUTH_TLS_ONLY}\n`, "modified"],
  ];
  it.each(table)("%s", (_name, edit, local, upstream, state) => {
    expect(editPartState(edit, local, upstream)).toBe(state);
  });
});

describe("re-deriving our edits on a newer upstream file (sync)", () => {
  const edited = applyEdit(ch11, applyEdit(ch3, TLS));
  const derive = (base: string, local: string, newer: string, installed: string[] = []) =>
    deriveWithKnownEdits("exim4", "00-main/50-tls-options", base, local, newer, new Set(installed as never[]));

  const table: Array<[string, string, string]> = [
    ["a line added at the top", `# newer upstream\n${TLS}`, applyEdit(ch11, applyEdit(ch3, `# newer upstream\n${TLS}`))],
    ["a line inserted right after the edited one", TLS.replace("log_selector = +tls_sni\n", "log_selector = +tls_sni\ntls_require_ciphers = NORMAL\n"), ""],
    ["the edited line itself changed (a flag added)", TLS.replace("+tls_sni", "+tls_sni +tls_cipher"), ""],
    ["the auth line rewritten without no_matching_hosts", TLS.replace(AUTH_TLS_ONLY, AUTH_CURRENT), ""],
    ["the log_selector line gone", TLS.replace("log_selector = +tls_sni\n", ""), ""],
  ];
  it.each(table)("%s: taken, and the edits re-applied", (_name, newer, expected) => {
    const out = derive(TLS, edited, newer);
    expect(out).toBe(expected || applyEdit(ch11, applyEdit(ch3, newer)));
    expect(out).not.toMatch(/^log_selector/m);
  });

  it("recognises the old installer's `#line` comments and writes ours", () => {
    const old = TLS.replace("log_selector = +tls_sni", "#log_selector = +tls_sni");
    expect(derive(TLS, old, TLS)).toBe(applyEdit(ch3, TLS));
  });

  it("comments out a log_selector upstream adds where it had none, when ch3 is installed", () => {
    const bare = TLS.replace("log_selector = +tls_sni\n", "");
    const newer = `${bare}log_selector = +tls_sni\n`;
    expect(derive(bare, bare, newer, ["ch3"])).toBe(applyEdit(ch3, newer));
    expect(derive(bare, bare, newer, [])).toBe(newer);
  });

  it("does not undo an admin who put upstream's line back in force", () => {
    expect(derive(TLS, TLS, `# top\n${TLS}`, ["ch3"])).toBe(`# top\n${TLS}`);
  });

  it("gives up on the admin's own edits", () => {
    expect(derive(TLS, `${edited}extra = 1\n`, TLS)).toBeNull();
    expect(derive(TLS, TLS.replace("log_selector = +tls_sni", "log_selector = +tls_sni +all"), TLS)).toBeNull();
  });

  it("knows nothing of files outside the main options", () => {
    expect(deriveWithKnownEdits("exim4", "10-acl/00-begin", "a\n", "b\n", "c\n")).toBeNull();
    expect(deriveWithKnownEdits("dovecot", "00-main/60-general-options", GENERAL, applyEdit(ch4, GENERAL), GENERAL)).toBeNull();
  });
});

describe("ch3's one log_selector", () => {
  const ours = OUR_LOG_FLAGS.join(" ");
  const table: Array<[string, string[], string, string[]]> = [
    ["today's upstream", ["log_selector = +tls_sni\n"], `+tls_sni ${ours}`, []],
    ["no upstream line", ["x = 1\n"], ours, []],
    ["a flag added upstream", ["log_selector = +tls_sni +tls_cipher\n"], `+tls_sni +tls_cipher ${ours}`, []],
    ["a negative flag carried", ["log_selector = +tls_sni -host_lookup_failed\n"], `+tls_sni -host_lookup_failed ${ours}`, []],
    ["a negative flag that cancels ours: ours wins", ["log_selector = -incoming_interface +tls_sni\n"], `+tls_sni ${ours}`, ["-incoming_interface"]],
    ["one of ours upstream already: once", ["log_selector = +smtp_protocol_error\n"], ours, []],
    ["continuation lines", ["log_selector = +tls_sni \\\n   +tls_peerdn\n"], `+tls_sni +tls_peerdn ${ours}`, []],
    ["a commented line is not upstream's", ["# log_selector = +all\nlog_selector = +tls_sni\n"], `+tls_sni ${ours}`, []],
    ["a # in the value is no flag", ["log_selector = +tls_sni # +all\n"], `+tls_sni +all ${ours}`, ["#"]],
    ["settings in two files", ["log_selector = +a\n", "log_selector = +b +a\n"], `+a +b ${ours}`, []],
    ["an indented and a hidden setting", ["  log_selector = +a\n", "hide log_selector = +b\n"], `+a +b ${ours}`, []],
  ];
  it.each(table)("%s", (_name, texts, value, dropped) => {
    const got = logSelectorFor(texts);
    expect(got.value).toBe(value);
    expect(got.dropped).toEqual(dropped);
  });
});
