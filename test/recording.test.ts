/**
 * The recording Reader status's memo rests on: it stamps every path before
 * it is read, and gives up on any read a stamp cannot vouch for.
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { serverPath } from "../src/paths.js";
import { RealSystem } from "../src/system/real.js";
import { RecordingReader } from "../src/system/recording.js";
import { makeRoot } from "./fixtures/sympl.js";

let root: string;
beforeEach(() => {
  root = makeRoot();
  mkdirSync(`${root}/etc/app/tree`, { recursive: true });
  writeFileSync(`${root}/etc/app/tree/a`, "a\n");
  symlinkSync("a", `${root}/etc/app/tree/b`);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const reader = () => new RecordingReader(new RealSystem(root));

describe("RecordingReader", () => {
  it("stamps what it read: a file, a directory listed with the names it gave an lstat of, a path where nothing is", () => {
    const r = reader();
    r.readFile(serverPath("/etc/app/tree/a"));
    r.listDetailed(serverPath("/etc/app/tree"), (name) => name === "b");
    expect(r.stat(serverPath("/etc/app/none"))).toBeNull();
    expect(r.usable).toBe(true);
    expect([...r.stamps.keys()].sort()).toEqual(["/etc/app/none", "/etc/app/tree", "/etc/app/tree/a", "/etc/app/tree/b"]);
    expect(r.stamps.get(serverPath("/etc/app/tree/a"))?.[0]).toBe("file");
    expect(r.stamps.get(serverPath("/etc/app/tree/b"))?.[0]).toBe("link");
    expect(r.stamps.get(serverPath("/etc/app/none"))).toBeNull();
  });

  it.each([
    ["a file read through a symlink", (r: RecordingReader) => r.readFile(serverPath("/etc/app/tree/b"))],
    ["a read that fails", (r: RecordingReader) => expect(() => r.readFile(serverPath("/etc/app/none"))).toThrow()],
    ["a question about a process", (r: RecordingReader) => r.process(process.pid)],
  ])("is unusable after %s", (_what, read) => {
    const r = reader();
    read(r);
    expect(r.usable).toBe(false);
  });

  it("is unusable when a path it stamped changed within the run", () => {
    const r = reader();
    r.stat(serverPath("/etc/app/tree/a"));
    rmSync(`${root}/etc/app/tree/a`);
    writeFileSync(`${root}/etc/app/tree/a`, "changed\n");
    r.stat(serverPath("/etc/app/tree/a"));
    expect(r.usable).toBe(false);
  });
});
