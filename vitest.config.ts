import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The machine has 2 cores; SFTP and database tests are I/O heavy, so a small pool is faster than a large one.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
