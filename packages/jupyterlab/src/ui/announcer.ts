/** Polls nbferry/announcements and shows a JupyterLab notification, once each, before a cull or eviction. */
import { Notification } from '@jupyterlab/apputils';
import type { Kernel } from '@jupyterlab/services';
import { toNotify, notificationView } from '../model/announcements.js';
import { delay, type NbferryClient } from './client.js';

const POLL_MS = 10_000;

export class Announcer {
  private seen = new Set<string>();
  private readonly stop = new AbortController();

  constructor(
    private readonly client: NbferryClient,
    private readonly kernels: Kernel.IManager,
    private readonly onEviction: () => void,
  ) {
    void this.loop();
  }

  dispose(): void {
    this.stop.abort();
  }

  async check(): Promise<void> {
    const list = await this.client.announcements(this.stop.signal);
    const ids = new Set([...this.kernels.running()].map((k) => k.id));
    const { notify, seen } = toNotify(list, ids, this.seen, Date.now());
    this.seen = seen;
    for (const a of notify) {
      const view = notificationView(a, Date.now());
      const actions: Notification.IAction[] =
        a.kind === 'cull' || a.kind === 'eviction'
          ? [{ label: 'Checkpoint now', callback: () => this.onEviction(), displayType: 'accent' }]
          : [];
      Notification.emit(view.message, view.type, { autoClose: view.autoClose, actions, data: { nbferryAnnouncement: a.id } });
    }
  }

  private async loop(): Promise<void> {
    while (!this.stop.signal.aborted) {
      try {
        await this.check();
      } catch (error) {
        if (this.stop.signal.aborted) return;
        // The server side may be missing or restarting: stay quiet in the UI, try again later.
        console.debug('nbferry: announcements unavailable', error);
      }
      try {
        await delay(POLL_MS, this.stop.signal);
      } catch {
        return;
      }
    }
  }
}
