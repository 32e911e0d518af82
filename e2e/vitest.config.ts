import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // The server's harness builds the migrated template database each server gets a clone of.
    globalSetup: ['../server/test/harness/global-setup.ts'],
    // One browser, one server at a time: journeys are long and the machine has two cores.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
})
