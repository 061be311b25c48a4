/** The Python with ipykernel that tests run kernels with: $NBFERRY_PYTHON or the repo's .venv. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export function testPython(): string {
  const python = process.env.NBFERRY_PYTHON ?? `${repoRoot}.venv/bin/python`;
  if (!existsSync(python)) {
    throw new Error(`no Python with ipykernel at ${python}: run "npm run setup" (or set NBFERRY_PYTHON)`);
  }
  return python;
}
