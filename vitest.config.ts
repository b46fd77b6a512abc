import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Tests that start exim, dovecot or a resolver take seconds, not millis.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: keep the daemon-heavy files from starving each other.
    maxWorkers: 2,
  },
});
