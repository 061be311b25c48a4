// "Move to…" another Jupyter Server, as a platform operator configures it (NbferryExtension.move_targets
// -> nbferry serve --target id=...,url=...,token-file=...): a real browser on server A checkpoints now,
// picks the target in the move dialog, follows the job's progress in bytes (screenshot), and the
// kernel started on server B holds the state, checked there through B's own kernel API.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { connectServerKernel } from '@nbferry/jupyter-server';
import { launchChromium, shoot } from './support/browser.js';
import { startLab, writeNotebook, type LabServer } from './support/lab-server.js';
import { newLabPage, notebookPage } from './support/notebook-page.js';

// The first cell is slow, so the planner sends `big` (128 MB) rather than rerunning it: the move has bytes to show.
const CELLS = ['import time\nimport numpy as np\nbig = np.arange(16_000_000, dtype=np.float64)\ntime.sleep(4)', 'x = 42'];

interface JobView {
  state: string;
  bytesDone: number;
  bytesTotal: number | null;
  etaSeconds: number | null;
}

describe('move to another Jupyter Server from the panel', () => {
  let source: LabServer;
  let target: LabServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    target = await startLab();
    const tokenFile = join(target.dir, 'target.token');
    await writeFile(tokenFile, target.token, { mode: 0o600 });
    source = await startLab({
      extensionConfig: { move_targets: [`id=bigger,url=${target.url}/,token-file=${tokenFile},label=The bigger server,kernel=nbferry`] },
    });
    // The notebook in a directory of its own, which the target server has too: the moved kernel runs there.
    await mkdir(join(source.root, 'project'));
    await mkdir(join(target.root, 'project'));
    await writeNotebook(join(source.root, 'project'), 'move.ipynb', CELLS);
    browser = await launchChromium();
    page = await newLabPage(browser);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await source?.stop();
    await target?.stop();
  }, 90_000);

  it('lists the configured target, moves the state there with progress in bytes, and the moved kernel holds it', async () => {
    const listed = await source.api<{ targets: { id: string; label: string; body: Record<string, unknown> }[] }>('GET', '/nbferry/api/targets');
    expect(listed.status).toBe(200);
    expect(listed.body.targets.map((t) => t.id)).toEqual(['fresh-kernel', 'bigger']);
    expect(listed.body.targets[1]).toMatchObject({ label: 'The bigger server', body: { target: 'bigger' } });
    expect(JSON.stringify(listed.body)).not.toContain(target.token);

    const jobs: JobView[] = [];
    page.on('response', (response) => {
      if (!/\/nbferry\/api\/jobs\//.test(response.url())) return;
      void response.json().then((job: JobView) => jobs.push(job), () => {});
    });
    await page.goto(`${source.url}/lab/tree/project/move.ipynb?token=${source.token}`);
    const notebook = notebookPage(page);
    await notebook.cell(0).waitFor();
    await expect.poll(() => page.locator('.nbferry-status').textContent(), { timeout: 60_000 }).toMatch(/nbferry: (not )?protected/);
    for (const i of [0, 1]) await notebook.run(i);
    await page.locator('.lm-TabBar-tab[data-id="nbferry-history-panel"]').click();
    const panel = page.locator('#nbferry-history-panel');
    await expect.poll(async () => (await panel.locator('.nbferry-timeline-row').first().textContent()) ?? '', { timeout: 60_000 }).toContain('x = 42');

    // Checkpoint now, then move.
    await panel.locator('[data-action=checkpoint]').click();
    await expect.poll(() => panel.getAttribute('data-busy'), { timeout: 60_000 }).toBe('false');
    await panel.locator('[data-action=move]').click();
    const dialog = page.locator('.jp-Dialog', { has: page.locator('.nbferry-move-dialog') });
    await dialog.waitFor({ state: 'visible' });
    await dialog.locator('select.nbferry-move-target').selectOption('bigger');
    await shoot(page, 'move-01-dialog');
    // Every progress text the panel shows during the move (it is gone once the move is done).
    await page.evaluate(`(() => {
      const seen = (window.nbferryProgress = []);
      new MutationObserver(() => {
        const text = document.querySelector('#nbferry-history-panel .nbferry-progress')?.textContent ?? '';
        if (text && seen.at(-1) !== text) seen.push(text);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    })()`);
    await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
    const progress = panel.locator('.nbferry-progress[data-action=move]');
    await progress.waitFor({ state: 'visible', timeout: 30_000 });
    // The screenshot once bytes flow (it may be missed on a fast machine: the texts are checked below).
    const bytesShown = await page
      .waitForFunction(`/B of /.test(document.querySelector('#nbferry-history-panel .nbferry-progress')?.textContent ?? '')`, undefined, { polling: 'raf', timeout: 60_000 })
      .then(() => true, () => false);
    if (bytesShown) await shoot(page, 'move-02-progress', panel, 'lab-move-progress.png');
    const report = panel.locator('.nbferry-report');
    await expect.poll(async () => (await report.locator('h3').textContent()) ?? '', { timeout: 120_000 }).toMatch(/^Move to The bigger server/);
    expect(await report.getAttribute('data-ok')).toBe('true');
    expect(await report.textContent()).toContain('big');
    await shoot(page, 'move-03-moved');

    const shown = await page.evaluate<string[]>('window.nbferryProgress');
    console.log(`move: progress texts shown: ${JSON.stringify(shown)}`);
    // Bytes in flight that the panel's own polls got must have been shown. A move whose bytes all
    // moved between two of its polls has none to show (seen once the target got faster to prepare).
    const pollsInFlight = jobs.filter((j) => j.state === 'running' && j.bytesDone > 0 && j.bytesTotal !== null);
    if (pollsInFlight.length > 0) expect(shown.some((t) => /B of .*B/.test(t))).toBe(true);
    // The job reported bytes (and, once bytes flowed, an ETA) and finished.
    const withBytes = jobs.filter((j) => j.bytesDone > 0 && j.bytesTotal !== null);
    console.log(`move: ${jobs.length} job polls, ${withBytes.length} with bytes, max ${Math.max(0, ...jobs.map((j) => j.bytesDone))} B, ETAs seen: ${jobs.map((j) => j.etaSeconds).filter((e) => e !== null).join(', ') || 'none'}`);
    expect(withBytes.length).toBeGreaterThan(0);
    expect(Math.max(...withBytes.map((j) => j.bytesTotal ?? 0))).toBeGreaterThanOrEqual(128_000_000);
    expect(jobs.at(-1)?.state).toBe('done');

    // Server B has a new kernel (on the nbferry kernelspec) holding x and big.
    const kernels = (await target.api<{ id: string; name: string }[]>('GET', '/api/kernels')).body;
    expect(kernels).toHaveLength(1);
    expect(kernels[0]!.name).toBe('nbferry');
    const moved = await connectServerKernel({ baseUrl: `${target.url}/`, token: target.token }, kernels[0]!.id, { timeoutMs: 30_000 });
    try {
      const result = await moved.client.execute('import os\nprint(x, int(big.sum()), os.getcwd())', { timeoutMs: 30_000 });
      expect(result.stdout).toContain(`42 ${(16_000_000 * 15_999_999) / 2} ${join(target.root, 'project')}`);
    } finally {
      await moved.detach();
    }
  }, 300_000);

  it('refuses a target that is not configured, with what to do', async () => {
    const kernelId = (await source.api<{ kernel: { id: string } }[]>('GET', '/api/sessions')).body[0]!.kernel.id;
    const refused = await source.api<{ error: { code: string; message: string } }>('POST', `/nbferry/api/kernels/${kernelId}/migrate`, { target: 'nowhere' });
    expect(refused.status).toBe(404);
    expect(refused.body.error).toMatchObject({ code: 'UNKNOWN_TARGET' });
    expect(refused.body.error.message).toContain('GET /targets');
  }, 60_000);
});
