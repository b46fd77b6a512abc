/**
 * The catalogue's line edits: applied, undone and recognised, on the
 * fixture's upstream lines and on the shapes the old installer left; and
 * the catalogue agrees with the snippet texts and the upstream tree.
 */
import { describe, expect, it } from "vitest";
import { CATALOGUE, changeById, changeFiles } from "../src/catalogue/catalogue.js";
import type { LineEdit } from "../src/catalogue/catalogue.js";
import { applyEdit, deriveWithKnownEdits, editState, recogniseEdits, undoEdit } from "../src/catalogue/edits.js";
import { SNIPPETS } from "../src/catalogue/snippets.js";
import { isSnippetName } from "../src/server-layout.js";
import { UPSTREAM_TREES } from "./fixtures/sympl.js";

const TLS = UPSTREAM_TREES.exim4["00-main/50-tls-options"] ?? "";
const GENERAL = UPSTREAM_TREES.exim4["00-main/60-general-options"] ?? "";
const [ch3] = changeById("ch3").edits as [LineEdit];
const [identHosts, identTimeout] = changeById("ch4").edits as [LineEdit, LineEdit];
const [ch11] = changeById("ch11").edits as [LineEdit];

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
    for (const c of CATALOGUE) {
      expect(changeFiles(c.id).length + c.edits.length, c.id).toBeGreaterThan(0);
    }
  });

  it("replaces only files upstream ships, and adds only files it does not", () => {
    for (const c of CATALOGUE) {
      for (const rel of changeFiles(c.id)) {
        const upstream = UPSTREAM_TREES[c.app][rel] !== undefined;
        expect(upstream, `${c.id} ${rel}`).toBe(c.replaces.includes(rel));
      }
    }
  });

  it("finds every edit's line in the upstream tree", () => {
    for (const c of CATALOGUE) {
      for (const e of c.edits) expect(editState(e, UPSTREAM_TREES[c.app][e.path] ?? ""), `${c.id} ${e.path}`).toBe("unapplied");
    }
  });
});

describe("apply and undo", () => {
  const table: Array<[string, LineEdit, string, string]> = [
    ["ch3 comments the log_selector", ch3, "a = 1\nlog_selector = +tls_sni\nb = 2\n", "a = 1\n# log_selector = +tls_sni\nb = 2\n"],
    ["ch4 matches an aligned line", identHosts, "rfc1413_hosts         =\n", "# rfc1413_hosts         =\n"],
    ["ch4 timeout", identTimeout, "rfc1413_query_timeout = 5s\n", "# rfc1413_query_timeout = 5s\n"],
    [
      "ch11 swaps the word in the auth_advertise_hosts line only",
      ch11,
      "# no_matching_hosts is used below\nauth_advertise_hosts = ${if eq{$tls_in_cipher}{}{no_matching_hosts}{*}}\n",
      "# no_matching_hosts is used below\nauth_advertise_hosts = ${if eq{$tls_in_cipher}{}{localhost}{*}}\n",
    ],
  ];
  it.each(table)("%s", (_name, edit, from, to) => {
    expect(editState(edit, from)).toBe("unapplied");
    expect(applyEdit(edit, from)).toBe(to);
    expect(editState(edit, to)).toBe("applied");
    expect(undoEdit(edit, to)).toBe(from);
  });

  it("leaves a text alone when the line is not there, and says so", () => {
    const text = "log_selector = +tls_sni +smtp_connection\n";
    expect(editState(ch3, text)).toBe("missing");
    expect(applyEdit(ch3, text)).toBe(text);
  });

  it("does not take a documentation comment for the edit when the live line is still there", () => {
    expect(editState(ch3, "#log_selector = +tls_sni\nlog_selector = +tls_sni\n")).toBe("unapplied");
  });

  it("sees the old installer's comment style as applied", () => {
    expect(editState(ch3, "#log_selector = +tls_sni\n")).toBe("applied");
  });

  it("sees a current Sympl line (localhost already) as applied, not missing", () => {
    expect(editState(ch11, "auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{localhost}{*}}\n")).toBe("applied");
  });
});

describe("recognising known edits (deriveWithKnownEdits for sync)", () => {
  const both = applyEdit(ch11, applyEdit(ch3, TLS));

  it("finds which edits turn upstream into local", () => {
    expect(recogniseEdits([ch3, ch11], TLS, TLS)).toEqual([]);
    expect(recogniseEdits([ch3, ch11], TLS, applyEdit(ch3, TLS))).toEqual([ch3]);
    expect(recogniseEdits([ch3, ch11], TLS, both)).toEqual([ch3, ch11]);
    expect(recogniseEdits([ch3, ch11], TLS, `${applyEdit(ch3, TLS)}extra = 1\n`)).toBeNull();
    expect(recogniseEdits([ch3, ch11], TLS, TLS.replace("log_selector", "# admin\nlog_selector"))).toBeNull();
  });

  it("re-applies the same edits to a newer upstream file", () => {
    const newer = `# newer upstream\n${TLS}tls_dhparam = none\n`;
    expect(deriveWithKnownEdits("exim4", "00-main/50-tls-options", TLS, both, newer)).toBe(applyEdit(ch11, applyEdit(ch3, newer)));
  });

  it("recognises the old installer's `#line` comments and writes ours", () => {
    const old = TLS.replace("log_selector = +tls_sni", "#log_selector = +tls_sni");
    expect(deriveWithKnownEdits("exim4", "00-main/50-tls-options", TLS, old, TLS)).toBe(applyEdit(ch3, TLS));
  });

  it("gives up when the newer upstream no longer has the edited line", () => {
    const newer = TLS.replace("log_selector = +tls_sni", "log_selector = +tls_sni +tls_peerdn");
    expect(deriveWithKnownEdits("exim4", "00-main/50-tls-options", TLS, applyEdit(ch3, TLS), newer)).toBeNull();
  });

  it("knows nothing of edits to other files or apps", () => {
    const local = applyEdit(identHosts, GENERAL);
    expect(deriveWithKnownEdits("exim4", "00-main/60-general-options", GENERAL, local, GENERAL)).toBe(local);
    expect(deriveWithKnownEdits("dovecot", "00-main/60-general-options", GENERAL, local, GENERAL)).toBeNull();
    expect(deriveWithKnownEdits("exim4", "00-main/10-general", GENERAL, local, GENERAL)).toBeNull();
  });
});
