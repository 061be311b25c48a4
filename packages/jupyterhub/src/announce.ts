/**
 * Telling the user, in their server: what is about to happen (a cull), what failed, what came back.
 * First choice: `POST nbferry/announcements` (the nbferry JupyterLab server extension shows it as a
 * notification). A server without the extension answers 404; then the message is written to
 * `nbferry-notice.md` in each notebook's directory (the user sees it in the file browser beside the
 * notebook; the next message replaces it). Never through the kernel: an execute there would be
 * code of unknown origin in the user's namespace.
 */
import { ServerError, type ServerApi } from '@nbferry/jupyter-server';

export interface Announcement {
  kind: 'cull' | 'eviction' | 'move' | 'info';
  message: string;
  deadline: string | null;
  kernels: string[] | null;
}

export const NOTICE_FILE = 'nbferry-notice.md';

export type AnnouncedBy = 'announcement' | 'notice-file' | 'failed';

export async function announce(api: ServerApi, announcement: Announcement, notebookPaths: (string | null)[], signal?: AbortSignal): Promise<AnnouncedBy> {
  try {
    await api.call('POST', 'nbferry/announcements?no_track_activity=1', announcement, { signal, timeoutMs: 10_000 });
    return 'announcement';
  } catch (error) {
    if (!(error instanceof ServerError && (error.status === 404 || error.status === 405))) return 'failed';
  }
  const dirs = new Set(notebookPaths.length === 0 ? [''] : notebookPaths.map((path) => (path === null || !path.includes('/') ? '' : path.slice(0, path.lastIndexOf('/')))));
  const text = `# nbferry: ${announcement.kind}\n\n${new Date().toISOString()}\n\n${announcement.message}\n` + (announcement.deadline ? `\nAt: ${announcement.deadline}\n` : '');
  let written = false;
  for (const dir of dirs) {
    const path = dir === '' ? NOTICE_FILE : `${dir}/${NOTICE_FILE}`;
    try {
      await api.call('PUT', `api/contents/${path.split('/').map(encodeURIComponent).join('/')}?no_track_activity=1`, { type: 'file', format: 'text', content: text }, { signal, timeoutMs: 10_000 });
      written = true;
    } catch {
      // A read-only directory: the status endpoint and the log still say it.
    }
  }
  return written ? 'notice-file' : 'failed';
}
