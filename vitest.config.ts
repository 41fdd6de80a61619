import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Test files start their own servers with worker threads; two cores are shared between them.
    maxWorkers: 2,
    // The JSON report lets CI print a plain "N passed, N failed" line (see .ci/run).
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results.json' },
  },
});
