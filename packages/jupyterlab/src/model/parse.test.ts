import { describe, expect, it } from 'vitest';
import { BadResponseError, errorFromBody, NbferryUiError } from './errors.js';
import {
  jobIdOf,
  parseAnnouncements,
  parseAttach,
  parseBranch,
  parseHistory,
  parseJob,
  parseKernelState,
  parsePlan,
  parseTargets,
} from './parse.js';

describe('parsers of the server side’s answers', () => {
  it('read the kernel state, keeping what the UI uses', () => {
    const state = parseKernelState({
      id: 'k1',
      store: 'nb',
      protected: true,
      lastCheckpoint: { id: 'c1', createdAt: '2026-12-03T11:58:00Z', totalBytes: 10, unrecoverable: [{ name: 'g', reason: 'gen' }] },
      unsaveable: ['sock', { name: 'gen', reason: 'a generator' }, 42],
      extra: 'ignored',
    });
    expect(state).toEqual({
      id: 'k1',
      store: 'nb',
      protected: true,
      lastCheckpoint: { id: 'c1', createdAt: '2026-12-03T11:58:00Z', totalBytes: 10, unrecoverable: [{ name: 'g', reason: 'gen' }] },
      unsaveable: [
        { name: 'sock', reason: '' },
        { name: 'gen', reason: 'a generator' },
      ],
    });
  });

  it('refuse an answer without what the UI needs, with a typed error', () => {
    expect(() => parseKernelState({ store: 'nb' })).toThrow(BadResponseError);
    expect(() => parseKernelState(null)).toThrow(/expected an object, got null/);
    expect(() => parseAttach({ store: 'nb' })).toThrow(/"id" is missing/);
    expect(() => parseHistory({ nope: 1 })).toThrow(BadResponseError);
    expect(() => parseJob({ state: 'weird' })).toThrow(/"state" is "weird"/);
    expect(() => parseBranch({ id: 'x' })).toThrow(/"jupyterKernelId" is missing/);
    try {
      parseAnnouncements({});
    } catch (error) {
      expect(error).toBeInstanceOf(NbferryUiError);
      expect((error as NbferryUiError).code).toBe('BAD_RESPONSE');
    }
  });

  it('read the history as a bare array or wrapped, skipping malformed rows', () => {
    const raw = [
      { id: 'c2', created: '2026-12-03T11:59:00Z', parent: 'c1', cell: { executionCount: 2, firstLine: 'x = 1' }, bytesWritten: 5, totalBytes: 9, changed: ['x'], latest: true, error: null },
      { created: 'no id' },
      { id: 'c1', cell: null, changed: null },
    ];
    const history = parseHistory(raw);
    expect(history.map((h) => h.id)).toEqual(['c2', 'c1']);
    expect(history[0]).toEqual({
      id: 'c2',
      created: '2026-12-03T11:59:00Z',
      parent: 'c1',
      cell: { executionCount: 2, firstLine: 'x = 1' },
      bytesWritten: 5,
      totalBytes: 9,
      changed: ['x'],
      trigger: null,
      latest: true,
      error: null,
    });
    expect(parseHistory({ checkpoints: raw })).toEqual(history);
  });

  it('read plans, jobs, announcements, targets and branch answers', () => {
    const parsedPlan = parsePlan({ checkpointId: 'c1', variables: [{ name: 'a', decision: 'odd', bytes: 'big' }], unsaveable: [], warnings: ['slow disk', 3] });
    expect(parsedPlan.variables).toEqual([{ name: 'a', decision: 'lost', reason: null, bytes: null, group: null }]);
    expect(parsedPlan.warnings).toEqual(['slow disk']);
    expect(parseHistory([{ id: 'c', error: 'chunk missing' }])[0]!.error).toBe('chunk missing');
    expect(parseJob({ state: 'failed', bytesDone: 3, error: { code: 'DISK', message: 'full' } })).toMatchObject({ state: 'failed', bytesDone: 3, error: { code: 'DISK', message: 'full' } });
    expect(jobIdOf({ job: 'j1' })).toBe('j1');
    expect(jobIdOf({ ok: true })).toBeNull();
    expect(parseAnnouncements({ announcements: [{ id: 'a', kind: 'eviction', message: 'm', deadline: null, kernels: ['k'], created: 't' }, { id: 'b' }] })).toEqual([
      { id: 'a', kind: 'eviction', message: 'm', deadline: null, kernels: ['k'], created: 't' },
    ]);
    expect(parseTargets({ targets: [{ id: 'gpu', label: 'GPU server', body: { profile: 'gpu' } }, { id: 'bare' }] })).toEqual([
      { id: 'gpu', label: 'GPU server', description: null, body: { profile: 'gpu' } },
      { id: 'bare', label: 'bare', description: null, body: {} },
    ]);
    expect(parseBranch({ jupyterKernelId: 'j2', id: 'n2', outcome: { ok: true } })).toEqual({ jupyterKernelId: 'j2', id: 'n2', outcome: { ok: true } });
  });
});

describe('errorFromBody', () => {
  it('carries the service’s code and message, and the HTTP status', () => {
    const e = errorFromBody(409, { error: { code: 'NOTHING_TO_UNDO', message: 'no checkpoint to go back to' } });
    expect([e.code, e.message, e.httpStatus]).toEqual(['NOTHING_TO_UNDO', 'no checkpoint to go back to', 409]);
    const flat = errorFromBody(409, { code: 'NO_SHIM', message: 'cannot record this kernel' });
    expect([flat.code, flat.message]).toEqual(['NO_SHIM', 'cannot record this kernel']);
  });

  it('explains a missing server extension and a bare status', () => {
    expect(errorFromBody(404, null).message).toMatch(/is nbferry-jupyterlab installed/);
    expect(errorFromBody(502, 'x')).toMatchObject({ code: 'HTTP_502', httpStatus: 502 });
  });
});
