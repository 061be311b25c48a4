/**
 * Debian's chromium (no browser download: playwright-core drives the system one), headless, and the
 * screenshots of each step: test-results/lab/<step>.png always; with NBFERRY_LAB_DOCS=1 also the
 * README's small element shots in docs/img/.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { repoRoot } from '../../support/python.js';

export const chromiumPath = process.env.NBFERRY_CHROMIUM ?? '/usr/bin/chromium';
const artefacts = join(repoRoot, 'test-results/lab');
const docsImages = join(repoRoot, 'docs/img');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(`no chromium at ${chromiumPath}: apt-get install -y chromium (scripts/setup.sh does), or set NBFERRY_CHROMIUM`);
  // --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/** A screenshot of the page (or of one element) as a test artefact; `docs` also copies it to docs/img/. */
export async function shoot(page: Page, step: string, element?: Locator, docs?: string): Promise<string> {
  await mkdir(artefacts, { recursive: true });
  const path = join(artefacts, `${step}.png`);
  // An element the panel re-renders while it is shot (its polling refreshes the report) is shot
  // again; a screenshot is an artefact, so a last failure falls back to the whole page.
  let shot = false;
  for (let attempt = 0; element && !shot && attempt < 2; attempt++) {
    shot = await element.screenshot({ path, timeout: 10_000 }).then(
      () => true,
      () => false,
    );
  }
  if (!shot) await page.screenshot({ path });
  if (docs && process.env.NBFERRY_LAB_DOCS === '1') {
    await mkdir(docsImages, { recursive: true });
    await copyFile(path, join(docsImages, docs));
  }
  return path;
}
