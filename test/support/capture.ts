/**
 * What `main` writes to stdout and stderr, captured afresh for every test of
 * a file: `let out: string[], err: string[]; captureOutput((o, e) => ((out = o), (err = e)));`
 */
import { afterEach, beforeEach, vi } from "vitest";
import { output } from "../../src/render.js";

/** Registers the hooks that hand each test its own empty stdout and stderr chunk lists. */
export function captureOutput(take: (out: string[], err: string[]) => void): void {
  beforeEach(() => {
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(output, "out").mockImplementation((text) => void out.push(text));
    vi.spyOn(output, "err").mockImplementation((text) => void err.push(text));
    take(out, err);
  });
  afterEach(() => vi.restoreAllMocks());
}
