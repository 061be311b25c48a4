/**
 * The side panel: the kernel's checkpoints newest first, with undo / restore / branch, checkpoint
 * now and move to…, the progress of what runs, and the verification report of the last restore.
 */
import { ControllerView } from './controller-view.js';
import { describeStatus } from '../model/status.js';
import type { NbferryController } from './controller.js';
import { button, el } from './dom.js';
import type { Operations } from './operations.js';

export const HISTORY_PANEL_ID = 'nbferry-history-panel';

export class HistoryPanel extends ControllerView {
  constructor(
    controller: NbferryController,
    private readonly ops: Operations,
    private readonly openPlan: () => void,
  ) {
    super(controller);
    this.id = HISTORY_PANEL_ID;
    this.addClass('nbferry-history');
    this.title.caption = 'nbferry: checkpoint history';
    this.node.tabIndex = -1;
    this.render();
  }

  render(): void {
    const c = this.controller;
    const status = describeStatus(c.status, Date.now());
    const rows = c.timeline;
    this.node.dataset.busy = String(c.running !== null);
    this.node.dataset.running = c.running ?? '';
    this.node.dataset.attached = String(c.nbferryId !== null);
    const parts: (HTMLElement | null)[] = [
      el('header', { className: 'nbferry-history-header' }, [
        el('h2', { text: 'nbferry history' }),
        el('div', { className: 'nbferry-history-status', text: status.label, title: status.title, data: { level: status.level } }),
        el('div', { className: 'nbferry-toolbar' }, [
          button('Checkpoint now', 'checkpoint', () => void this.ops.checkpoint(), c.enablement('checkpoint')),
          button('Undo last cell', 'undo', () => void this.ops.undo(), c.enablement('undo')),
          button('Move to…', 'move', () => void this.ops.move(), c.enablement('move')),
          button('Plan', 'plan', this.openPlan, c.enablement('plan')),
        ]),
      ]),
      this.renderProgress(),
      rows.length === 0
        ? el('p', {
            className: 'nbferry-message',
            text: c.jupyterKernelId === null ? 'Open a notebook with a running kernel.' : c.status.error ?? 'No checkpoint yet.',
          })
        : el(
            'ol',
            { className: 'nbferry-timeline' },
            rows.map((row) => {
              const li = el('li', { className: 'nbferry-timeline-row', data: { checkpointId: row.id, head: String(row.head) } }, [
                el('div', { className: 'nbferry-row-label', text: row.label, title: row.id }),
                el('div', { className: 'nbferry-row-meta', text: [row.age, row.bytes].filter((s) => s !== '').join(' · ') }),
                row.changed === '' ? null : el('div', { className: 'nbferry-row-changed', text: row.changed, title: row.changedNames.join(', ') }),
                row.error === '' ? null : el('div', { className: 'nbferry-row-error', text: row.error }),
                el('div', { className: 'nbferry-row-actions' }, [
                  button('Restore', 'restore', () => void this.ops.restore(row.id), c.enablement('restore', row.id)),
                  button('Open as new kernel', 'branch', () => void this.ops.branch(row.id), c.enablement('branch', row.id)),
                ]),
              ]);
              li.setAttribute('aria-selected', String(c.selected === row.id));
              li.addEventListener('click', () => c.select(c.selected === row.id ? null : row.id));
              return li;
            }),
          ),
      this.renderReport(),
    ];
    this.node.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
  }

  private renderProgress(): HTMLElement | null {
    const p = this.controller.progress;
    if (this.controller.running === null) return null;
    const bar = el('progress', { className: 'nbferry-progress-bar' });
    if (p?.fraction !== null && p?.fraction !== undefined) {
      bar.max = 1;
      bar.value = p.fraction;
    }
    return el('div', { className: 'nbferry-progress', data: { action: this.controller.running } }, [
      el('span', { text: `${this.controller.running}: ${p?.text ?? 'starting…'}` }),
      bar,
    ]);
  }

  private renderReport(): HTMLElement | null {
    const r = this.controller.report;
    if (r === null) return null;
    const { report } = r;
    return el('section', { className: 'nbferry-report nbferry-verification', data: { ok: String(report.ok) } }, [
      el('h3', { text: r.title }),
      el('p', {
        className: 'nbferry-report-summary',
        text: report.summary + (report.totalMs === null ? '' : ` · ${Math.round(report.totalMs)} ms`),
      }),
      el(
        'table',
        { className: 'nbferry-report-table' },
        report.rows.map((row) =>
          el('tr', { data: { variable: row.name, outcome: row.outcome } }, [
            el('td', { className: 'nbferry-var', text: row.name }),
            el('td', { className: 'nbferry-outcome', text: row.outcome }),
            el('td', { className: 'nbferry-detail', text: row.detail }),
          ]),
        ),
      ),
    ]);
  }
}
