// The checkpoint body a restore reads: a malformed one is a CorruptCheckpointError naming the field,
// never a TypeError halfway through a restore. Fuzzed with fast-check (NBFERRY_FUZZ_RUNS runs, 300 by default).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptCheckpointError } from '@nbferry/store';
import { assertCheckpointBody, checkpointBodyProblem } from './body-check.js';
import { checkpointWorkingDirectory } from './working-directory.js';
import type { CheckpointBody } from './manifest-body.js';

const RUNS = Number(process.env.NBFERRY_FUZZ_RUNS ?? 300);

const body = {
  history: { format: 'nbferry-history', version: 1, preexisting: [], executions: [{ seq: 1, kind: 'cell', code: 'x = 1', executionCount: 1, cellId: null }], nodes: [], edges: [] },
  problem: {
    cells: [{ id: 1, runtimeMs: 1, reads: [], writes: ['x'], deletes: [], success: true, sideEffects: false, nondeterministic: false }],
    groups: [{ id: 'g1', names: ['x'], serializable: true, bytes: 10 }],
    costs: {},
  },
  plan: { serialize: ['g1'], rerun: [], program: [{ kind: 'load', group: 'g1', names: ['x'] }, { kind: 'run', cell: 1 }], variables: [{ name: 'x', decision: 'serialize' }], strayNames: [] },
  fingerprints: { algo: 'sha256', values: { x: 'ab', y: null } },
  unrecoverable: [],
  rng: [{ seq: 1, python: new Uint8Array([1]) }],
  cwd: '/tmp',
};

describe('checkpoint body check', () => {
  it('accepts a well-formed body and names the first bad field otherwise', () => {
    expect(checkpointBodyProblem(body)).toBeUndefined();
    expect(checkpointBodyProblem({ ...body, history: undefined })).toMatch(/`history`/);
    expect(checkpointBodyProblem({ ...body, plan: { ...body.plan, program: [{ kind: 'run', cell: '1' }] } })).toMatch(/`plan`/);
    expect(checkpointBodyProblem(null)).toMatch(/missing/);
    expect(() => assertCheckpointBody({ ...body, cwd: 3 }, '/store/x')).toThrow(CorruptCheckpointError);
  });

  it('any field replaced by random data is either accepted or a typed error', () => {
    const fields = Object.keys(body);
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }), (field, value) => {
        const mutated: Record<string, unknown> = { ...body, [field]: value };
        try {
          assertCheckpointBody(mutated, 'fuzz');
        } catch (error) {
          expect(error).toBeInstanceOf(CorruptCheckpointError);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('working directory from a checkpoint', () => {
  it('is used only with the caller consent, and only if absolute and an existing directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nbf-cwd-'));
    try {
      const of = (cwd: unknown) => ({ manifest: { body: { ...body, cwd } as unknown as CheckpointBody } }) as Parameters<typeof checkpointWorkingDirectory>[0];
      expect(checkpointWorkingDirectory(of(dir))).toBeUndefined();
      expect(checkpointWorkingDirectory(of(dir), { useCheckpointCwd: false })).toBeUndefined();
      expect(checkpointWorkingDirectory(of(dir), { useCheckpointCwd: true })).toBe(dir);
      expect(checkpointWorkingDirectory(of('relative/dir'), { useCheckpointCwd: true })).toBeUndefined();
      expect(checkpointWorkingDirectory(of(join(dir, 'missing')), { useCheckpointCwd: true })).toBeUndefined();
      expect(checkpointWorkingDirectory(of(42), { useCheckpointCwd: true })).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
