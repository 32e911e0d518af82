import { createRequire } from 'node:module'
import { defineConfig } from 'vitest/config'

// graphql ships CommonJS and ESM builds; Pothos and Yoga load the CommonJS one with require(), so
// our own imports must get that same instance or schema objects come "from another realm".
const graphqlCjs = createRequire(import.meta.url).resolve('graphql')

export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: graphqlCjs }] },
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
