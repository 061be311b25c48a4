import { describe, expect, it } from 'vitest';
import type { Announcement } from './api-types.js';
import { notificationView, relevant, toNotify } from './announcements.js';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const a = (id: string, over: Partial<Announcement> = {}): Announcement => ({
  id,
  kind: 'cull',
  message: 'idle for 1 h',
  deadline: '2026-12-03T12:05:00Z',
  kernels: null,
  created: '2026-12-03T11:59:00Z',
  ...over,
});

describe('announcements', () => {
  it('keeps those about every kernel or one shown here', () => {
    const list = [a('all'), a('mine', { kernels: ['k1', 'k9'] }), a('other', { kernels: ['k2'] })];
    expect(relevant(list, new Set(['k1'])).map((x) => x.id)).toEqual(['all', 'mine']);
  });

  it('notifies each once, and not after its deadline', () => {
    const list = [a('one'), a('late', { deadline: '2026-12-03T11:59:59Z' }), a('open', { deadline: null, kind: 'info' })];
    const first = toNotify(list, new Set(), new Set(), NOW);
    expect(first.notify.map((x) => x.id)).toEqual(['one', 'open']);
    const second = toNotify([...list, a('two')], new Set(), first.seen, NOW);
    expect(second.notify.map((x) => x.id)).toEqual(['two']);
  });

  it('says what will happen and when; warnings with a deadline stay until dismissed', () => {
    expect(notificationView(a('c'), NOW)).toEqual({
      type: 'warning',
      message: 'This server will be culled in 5 min: idle for 1 h',
      autoClose: false,
    });
    expect(notificationView(a('e', { kind: 'eviction', message: 'node drained', deadline: '2026-12-03T12:00:30Z' }), NOW)).toMatchObject({
      type: 'error',
      message: 'This kernel will be evicted in 30 s: node drained',
    });
    expect(notificationView(a('i', { kind: 'info', deadline: null, message: 'hello' }), NOW)).toEqual({
      type: 'info',
      message: 'nbferry: hello',
      autoClose: 8000,
    });
  });
});
