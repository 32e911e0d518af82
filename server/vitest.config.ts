import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Creates one migrated template database; each test file clones it (CREATE DATABASE … TEMPLATE).
    globalSetup: ['test/harness/global-setup.ts'],
    // Integration tests start real sshd/Postgres processes: generous, but still bounded.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores here: two files at a time keeps sshd, Postgres and workers from starving each other.
    maxWorkers: 2,
  },
})
