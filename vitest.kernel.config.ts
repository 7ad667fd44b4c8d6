import { defineConfig } from 'vitest/config';

/**
 * The kernel conformance suite (`npm run test:kernel`): builds podnet's topologies in real network
 * namespaces and compares packets. Needs root, iproute2, tcpdump and iputils ping; without them
 * it skips with one line saying why (or fails when PODNET_REQUIRE_TOOLS=1). One file at a time:
 * each run owns its namespaces, and timing matters.
 */
export default defineConfig({
  test: {
    include: ['test/kernel/**/*.test.ts'],
    globalSetup: ['test/kernel/global-setup.ts'],
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
