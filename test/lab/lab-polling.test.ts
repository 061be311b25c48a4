// The panel's polling must not keep a kernel alive: Jupyter Server culls a kernel by its
// `last_activity` (MappingKernelManager.cull_idle_timeout), which every message the kernel
// publishes for a tracked request moves; so does the auto-checkpoint idle timer. In a real browser
// with the extension, after the cell's own auto-checkpoint, the kernel's last_activity and
// execution_state must stay still while the panel polls (status, history, plan, re-attach).
// Also: the status shown in the notebook toolbar (besides the status bar).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchChromium, shoot } from './support/browser.js';
import { startLab, writeNotebook, type LabServer } from './support/lab-server.js';
import { newLabPage, notebookPage, openNotebook } from './support/notebook-page.js';

interface KernelModel {
  last_activity: string;
  execution_state: string;
}

describe('the extension polling a kernel', () => {
  let lab: LabServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    lab = await startLab();
    await writeNotebook(lab.root, 'idle.ipynb', ['x = 41 + 1']);
    browser = await launchChromium();
    page = await newLabPage(browser);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await lab?.stop();
  }, 60_000);

  it('does not move the kernel\'s last_activity nor its execution_state', async () => {
    const kernelId = await openNotebook(lab, page, 'idle.ipynb');
    await notebookPage(page).run(0);
    // The cell's auto-checkpoint is activity (it is work for the kernel); wait until it is done.
    await expect
      .poll(() => page.locator('.nbferry-status').textContent(), { timeout: 60_000 })
      .toMatch(/nbferry: protected/)
      .catch(async (error: unknown) => {
        console.log(JSON.stringify((await lab.api('GET', `/nbferry/api/kernels/${kernelId}`)).body), lab.log().slice(-3000));
        throw error;
      });
    // The same status in the notebook's toolbar (issue 16: "notebook toolbar or status bar").
    const toolbarStatus = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar .nbferry-toolbar-status');
    await expect.poll(() => toolbarStatus.textContent(), { timeout: 30_000 }).toMatch(/nbferry: protected/);
    expect(await toolbarStatus.getAttribute('data-level')).toBe('protected');
    await shoot(page, 'toolbar-status', page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) > .jp-Toolbar'), 'lab-toolbar-status.png');
    await page.locator('.lm-TabBar-tab[data-id="nbferry-history-panel"]').click();
    await page.locator('#nbferry-history-panel .nbferry-timeline-row').first().waitFor();
    await sleep(2000);

    const requests: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/nbferry/')) requests.push(`${r.method()} ${new URL(r.url()).pathname}`);
    });
    const model = async () => (await lab.api<KernelModel>('GET', `/api/kernels/${kernelId}`)).body;
    const before = await model();
    const states = new Set<string>();
    const activities = new Set<string>();
    // Six polls (every 3 s), the fifth of them a re-attach.
    const until = Date.now() + 18_000;
    while (Date.now() < until) {
      const now = await model();
      states.add(now.execution_state);
      activities.add(now.last_activity);
      await sleep(200);
    }
    await shoot(page, 'polling-idle');
    const polls = requests.filter((r) => r === `GET /nbferry/api/kernels/${kernelId}`).length;
    console.log(`polling: ${requests.length} nbferry requests in 18 s (${polls} status polls, ${requests.filter((r) => r.endsWith('/attach')).length} attaches); kernel states seen: ${[...states].join(', ')}; last_activity values: ${activities.size}`);
    expect(polls).toBeGreaterThanOrEqual(5);
    expect(requests.some((r) => r.endsWith(`/kernels/${kernelId}/attach`))).toBe(true);
    expect([...states]).toEqual(['idle']);
    expect([...activities]).toEqual([before.last_activity]);
  }, 180_000);
});
