import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // property runs simulate hundreds of clusters; the replay test also starts the podnet CLI
    testTimeout: 120_000,
  },
});
