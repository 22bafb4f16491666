import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Fails a file whose test servers gave an answer /openapi.json does not document.
    setupFiles: ['test/support/check-answers.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more forks than that only slows the end-to-end tests that spawn servers.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
