/**
 * daemonWords and maskKey as pure functions, on the words exim 4.96 and
 * dovecot 2.3 print (copied from real runs) and on both banner shapes: our
 * scratch copy's and the Makefile's (`# from sympl-local.d/…` between `#`
 * lines, as make's own test sees it).
 */
import { describe, expect, it } from "vitest";
import { daemonWords, maskKey, sourceOfLine } from "../src/daemon-words.js";

const KEY = "Zx81LeakyKey";

/** An assembled config of two snippets in the scratch copy's shape. */
const SCRATCH = [
  "# ------------------------------------------------------------------------------",
  "# /etc/exim4/sympl-local.d/00-main/10-general",
  "# ------------------------------------------------------------------------------",
  "primary_hostname = mail.example.org",
  "# ------------------------------------------------------------------------------",
  "# /etc/exim4/sympl-local.d/10-acl/50-acl-check-rcpt/75-dns-blacklists",
  "# ------------------------------------------------------------------------------",
  "  # a comment",
  "  deny",
  "    conditon = ${lookup dnsdb{a=1.2.3.4.SPAMHAUS_DQ_KEY.zen.dq.spamhaus.net}}",
  "",
].join("\n");

/** The same in the Makefile's shape, relative paths. */
const MAKEFILE = ["#", "# from sympl-local.d/00-main/10-general", "#", "primary_hostname = x", "#", "# from sympl-local.d/20-auth/10-plain", "#", "a = 1", "b = 2", ""].join("\n");

const EXIM_SAID = `2026-12-07 21:08:00 Exim configuration error in line 10 of /tmp/makefilecheck-K0Ur63/exim4.conf.tmp:
  error in ACL: unknown ACL condition/modifier in "conditon = \${lookup dnsdb{a=\${reverse_ip:$sender_host_address}.${KEY}.zen.dq.spamhaus.net}}"
Exim version 4.96 #2 built 26-Nov-2026 14:26:47
Copyright (c) University of Cambridge, 1995 - 2018
Size of off_t: 8`;

describe("maskKey", () => {
  it("masks the label before a keyed zone and the macro's value, and keeps the macro's name", () => {
    expect(maskKey(`a=1.2.3.4.${KEY}.zen.dq.spamhaus.net b=x.${KEY}.dbl.dq.spamhaus.net`)).toBe("a=1.2.3.4.********.zen.dq.spamhaus.net b=x.********.dbl.dq.spamhaus.net");
    expect(maskKey(`SPAMHAUS_DQ_KEY = ${KEY}`)).toBe("SPAMHAUS_DQ_KEY = ********");
    expect(maskKey("a=1.2.3.4.SPAMHAUS_DQ_KEY.zen.dq.spamhaus.net")).toBe("a=1.2.3.4.SPAMHAUS_DQ_KEY.zen.dq.spamhaus.net");
    expect(maskKey("2.0.0.127.zen.spamhaus.org")).toBe("2.0.0.127.zen.spamhaus.org");
  });
});

describe("daemonWords", () => {
  it("exim: the snippet and its line, the complaint on the same line, the key masked, the build information dropped", () => {
    const words = daemonWords("exim4", EXIM_SAID, (file) => (file.endsWith("/exim4.conf.tmp") ? SCRATCH : null));
    expect(words.source).toEqual({ file: "/etc/exim4/sympl-local.d/10-acl/50-acl-check-rcpt/75-dns-blacklists", line: 3 });
    expect(words.text).toBe(
      'sympl-local.d/10-acl/50-acl-check-rcpt/75-dns-blacklists: line 3: error in ACL: unknown ACL condition/modifier in "conditon = ${lookup dnsdb{a=${reverse_ip:$sender_host_address}.********.zen.dq.spamhaus.net}}"',
    );
  });

  it("exim: a file it cannot map stays named as exim said, masked, without a bare colon", () => {
    const words = daemonWords("exim4", EXIM_SAID, () => null);
    expect(words.source).toBeUndefined();
    expect(words.text).toMatch(/^line 10 of \/tmp\/makefilecheck-K0Ur63\/exim4\.conf\.tmp: error in ACL: .*\*{8}\.zen/);
    expect(words.text).not.toContain(KEY);
  });

  it("dovecot: a line of the Makefile's draft, its dump and version lines dropped", () => {
    const said = "doveconf: Fatal: Error in configuration file /etc/dovecot/dovecot.conf.tmp line 9: Unknown setting: b\n# 2.3.19.1 (9b53102964): dovecot.conf.tmp\n# Pigeonhole version 0.5.19";
    expect(daemonWords("dovecot", said, () => MAKEFILE)).toEqual({
      text: "sympl-local.d/20-auth/10-plain: line 2: Unknown setting: b",
      source: { file: "/etc/dovecot/sympl-local.d/20-auth/10-plain", line: 2 },
    });
  });

  it("dovecot: a bad value names no line; the last line setting it is the one named, its Error: line not repeated", () => {
    const said = "doveconf: Error: a: Unknown protocol: sieve\ndoveconf: Fatal: Error in configuration file dovecot.conf.tmp: a: Unknown protocol: sieve\n# 2.3.19.1 (9b53102964): dovecot.conf.tmp\nauth_cache_size = 0";
    expect(daemonWords("dovecot", said, () => MAKEFILE).text).toBe("sympl-local.d/20-auth/10-plain: line 1: a: Unknown protocol: sieve");
  });

  it("sourceOfLine: nothing for a banner line or before the first snippet", () => {
    expect(sourceOfLine(SCRATCH, "exim4", 2)).toBeUndefined();
    expect(sourceOfLine(SCRATCH, "exim4", 4)).toEqual({ file: "/etc/exim4/sympl-local.d/00-main/10-general", line: 1 });
  });
});
