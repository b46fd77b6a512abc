/**
 * What `main` writes to stdout and stderr, captured afresh for every test of
 * a file: `let out: string[], err: string[]; captureOutput((o, e) => ((out = o), (err = e)));`
 */
import { afterEach, beforeEach, vi } from "vitest";

/** Registers the hooks that hand each test its own empty stdout and stderr chunk lists. */
export function captureOutput(take: (out: string[], err: string[]) => void): void {
  beforeEach(() => {
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => (out.push(String(chunk)), true));
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => (err.push(String(chunk)), true));
    take(out, err);
  });
  afterEach(() => vi.restoreAllMocks());
}
