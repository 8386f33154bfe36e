import { defineConfig } from 'vitest/config';

// Unit tests are pure and fast; integration tests start real OpenSSH servers on loopback; e2e tests
// bring up the VM lab (real Debian 12 VMs, a lab per file). `npm test` runs unit and
// integration files in parallel, then the e2e files one at a time (two cores cannot carry two labs);
// the two-node e2e files share one lab, each starting from its just-booted checkpoint.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 20 * 60_000,
    maxWorkers: 2,
    setupFiles: ['test/setup/terminal-env.ts'],
    // Takes down the labs that e2e files shared during the run (test/helpers/lab.ts).
    globalSetup: ['test/setup/labs.ts'],
  },
});
