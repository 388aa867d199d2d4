import { defineConfig } from 'vitest/config';

// End-to-end tests: a real `scf demo` and Debian's chromium driven by playwright-core (no browser
// downloads). `npm run e2e`; see e2e/README.md.
export default defineConfig({
  test: {
    include: ['e2e/**/*.e2e.test.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Stopping the demo (SIGTERM, then SIGKILL after 15 s) is part of the teardown.
    teardownTimeout: 30_000,
    globalSetup: ['e2e/globalSetup.ts'],
    reporters: ['verbose'],
  },
});
