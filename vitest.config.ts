import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url));

// Tests import sibling packages (by their package names) from their TypeScript sources, so no build is needed first.
const alias = Object.fromEntries(
  readdirSync(packagesDir).map((dir) => {
    const { name } = JSON.parse(readFileSync(`${packagesDir}${dir}/package.json`, 'utf8')) as { name: string };
    return [name, `${packagesDir}${dir}/src/index.ts`];
  }),
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
