// The three kinds of path (src/paths.ts): each is made only by its checked
// constructor, a relative path that would climb out of its tree is refused
// where it is made, and the kinds do not mix (the @ts-expect-error lines
// fail `npm run typecheck` the day they would compile).
import { describe, expect, it } from "vitest";
import { InputError } from "../src/errors.js";
import { childPath, hostPath, inTree, serverPath, snippetChild, snippetPath } from "../src/paths.js";
import type { HostPath, ServerPath, SnippetPath } from "../src/paths.js";
import type { Op } from "../src/plan.js";
import { appPaths } from "../src/server-layout.js";
import { RealSystem } from "../src/system/real.js";
import type { Reader } from "../src/system/system.js";

describe("snippet paths", () => {
  it.each(["00-main/35-spamhaus-key", "10-main/60-sni", "x"])("takes %s", (rel) => {
    expect(snippetPath(rel)).toBe(rel);
  });

  it.each([
    ["../../../etc/shadow", /climbs out of its tree \(\.\.\)/],
    ["00-main/../../x", /climbs out of its tree \(\.\.\)/],
    ["./x", /climbs out of its tree \(\.\)/],
    ["/etc/passwd", /is absolute/],
    ["", /is empty/],
    ["00-main//x", /has an empty part/],
    ["00-main/", /has an empty part/],
    ["00-main/x\0y", /contains a NUL byte/],
    ["00-main/x\nforged log line", /contains a newline/],
  ])("refuses %j at construction", (rel, why) => {
    expect(() => snippetPath(rel)).toThrow(InputError);
    expect(() => snippetPath(rel)).toThrow(why);
  });

  it("refuses a name that is not one plain name when joining", () => {
    const top = snippetChild(null, "00-main");
    expect(snippetChild(top, "35-x")).toBe("00-main/35-x");
    for (const name of ["..", ".", "", "a/b", "x\0", "x\n"]) expect(() => snippetChild(top, name)).toThrow(InputError);
    for (const name of ["..", "a/../../b"]) expect(() => childPath(appPaths("exim4").local, name)).toThrow(InputError);
  });

  it("joins a checked snippet path under its tree, never above it", () => {
    expect(inTree(appPaths("exim4").local, snippetPath("00-main/35-spamhaus-key"))).toBe("/etc/exim4/sympl-local.d/00-main/35-spamhaus-key");
  });
});

describe("server and host paths", () => {
  it("normalises absolute paths and refuses relative ones and NUL", () => {
    expect(serverPath("/etc//exim4/./sympl.d/")).toBe("/etc/exim4/sympl.d");
    expect(serverPath("/etc/../../x")).toBe("/x");
    expect(serverPath("/")).toBe("/");
    expect(serverPath("/etc/exim4/..")).toBe("/etc");
    expect(serverPath("/etc/exim4/.")).toBe("/etc/exim4");
    // Dots that are only part of a name are kept.
    expect(serverPath("/etc/...")).toBe("/etc/...");
    expect(serverPath("/etc/.x/y..")).toBe("/etc/.x/y..");
    expect(() => serverPath("etc/exim4")).toThrow(/expected an absolute server path/);
    expect(() => hostPath("srv/copy")).toThrow(/expected an absolute host path/);
    expect(() => serverPath("/etc/\0")).toThrow(/NUL byte/);
  });

  it("maps a server path under --root as a host path, and a climbing server path stays under the root", () => {
    const sys = new RealSystem("/srv/copy");
    expect(sys.hostPath(serverPath("/etc/exim4/sympl.d"))).toBe("/srv/copy/etc/exim4/sympl.d");
    expect(sys.hostPath(serverPath("/etc/../../../etc/passwd"))).toBe("/srv/copy/etc/passwd");
  });
});

/** Compiled only: each @ts-expect-error line is a mix of kinds that must not type-check. */
export function mixingKindsDoesNotCompile(sys: Reader, server: ServerPath, host: HostPath, rel: SnippetPath): void {
  // @ts-expect-error a host path is not a server path: the System would map it under --root a second time
  sys.stat(host);
  // @ts-expect-error a snippet path is relative to a tree, not a path on the server
  sys.readFile(rel);
  // @ts-expect-error a plain string is no server path: it must go through serverPath() and its checks
  sys.list("/etc/exim4");
  // @ts-expect-error a server path is not a host path
  sys.watchDirs([server], { ignored: () => false, onChange: () => {}, onError: () => {} });
  // @ts-expect-error inTree takes the tree as a server path and a snippet path under it, not two server paths
  inTree(server, server);
  // @ts-expect-error nor a string that was never checked
  inTree(server, "../../etc/shadow");
  // @ts-expect-error a plan step names a server path
  const step: Op = { op: "remove", path: host, why: "" };
  // @ts-expect-error nor may a host path stand for a snippet path
  const back: SnippetPath = host;
  void step;
  void back;
  // What does compile: each kind where it belongs.
  sys.stat(inTree(server, rel));
  void sys.hostPath(server).startsWith(sys.root);
}
