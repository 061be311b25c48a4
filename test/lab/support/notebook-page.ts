/**
 * A JupyterLab page as the lab tests drive it: the open notebook's cells, nbferry's history panel,
 * and opening a notebook until its kernel is attached to nbferry.
 */
import { expect } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { LabServer } from './lab-server.js';

/** A page of the size the screenshots are taken at, waiting up to 60 s for what it is asked. */
export async function newLabPage(browser: Browser): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(60_000);
  return page;
}

export function notebookPage(page: Page) {
  const cell = (i: number) => page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell').nth(i);
  const history = () => page.locator('#nbferry-history-panel');
  return {
    cell,
    history,
    rows: () => history().locator('.nbferry-timeline-row'),
    /** Runs cell i as a user does: click into it, Shift+Enter. */
    async run(i: number): Promise<void> {
      await cell(i).locator('.cm-content').click();
      await page.keyboard.press('Shift+Enter');
    },
    /** Shows nbferry's history panel (its tab in the right sidebar). */
    async openHistory(): Promise<void> {
      await page.locator('.lm-TabBar-tab[data-id="nbferry-history-panel"]').click();
      await history().waitFor({ state: 'visible' });
    },
  };
}

/**
 * Opens `path` (relative to the server's root) in the page, waits for its session and for the
 * status item to show the kernel attached to nbferry; answers the Jupyter kernel's id.
 */
export async function openNotebook(lab: LabServer, page: Page, path: string): Promise<string> {
  await page.goto(`${lab.url}/lab/tree/${path}?token=${lab.token}`);
  await notebookPage(page).cell(0).waitFor();
  const sessions = () => lab.api<{ kernel: { id: string } }[]>('GET', '/api/sessions');
  await expect.poll(async () => (await sessions()).body.length, { timeout: 60_000 }).toBe(1);
  const kernelId = (await sessions()).body[0]!.kernel.id;
  await expect.poll(() => page.locator('.nbferry-status').textContent(), { timeout: 60_000 }).toMatch(/nbferry: (not )?protected/);
  return kernelId;
}
