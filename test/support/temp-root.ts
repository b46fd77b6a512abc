/**
 * A fresh temp dir as --root for every test of a file, removed after each:
 * `let root: string; withTempRoot((r) => (root = r));`
 */
import { rmSync } from "node:fs";
import { afterEach, beforeEach } from "vitest";
import { makeRoot } from "../fixtures/sympl.js";

/** Registers the hooks that give each test its own root, handed to `take`. */
export function withTempRoot(take: (root: string) => void): void {
  let current: string | undefined;
  beforeEach(() => {
    current = makeRoot();
    take(current);
  });
  afterEach(() => {
    if (current) rmSync(current, { recursive: true, force: true });
    current = undefined;
  });
}
