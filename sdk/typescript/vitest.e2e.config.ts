import { defineConfig } from 'vitest/config';

/** The examples against a real `scf demo` (started once for the run). */
export default defineConfig({
  test: {
    include: ['e2e/**/*.e2e.ts'],
    environment: 'node',
    globalSetup: ['e2e/globalSetup.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 300_000,
    // Stopping the demo (SIGTERM, then SIGKILL after 15 s) is part of the teardown.
    teardownTimeout: 30_000,
  },
});
