import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url));

// Tests import sibling packages from their TypeScript sources, so no build is needed first.
const alias = Object.fromEntries(
  readdirSync(packagesDir).map((name) => [`@nbferry/${name}`, `${packagesDir}${name}/src/index.ts`]),
);

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: real kernels in many files at once would only measure contention.
    maxWorkers: 2,
    pool: 'forks',
  },
});
