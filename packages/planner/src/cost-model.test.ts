import { describe, expect, it } from 'vitest';
import { costTable, groupCost, lagrangianCapacities, objectiveCapacities, rerunMs } from './cost-model.js';
import { cell, costs, group, problem } from './testing/builders.js';
import { planReplication } from './plan.js';

describe('cost model', () => {
  const settings = costs({ store: { writeBytesPerSec: 100e6, readBytesPerSec: 200e6, latencyMs: 5 } });

  it('estimates serialize and load times from bytes when not measured', () => {
    const estimated = groupCost(group('g', ['a'], 400e6), { ...settings, serializeBytesPerSec: 400e6, deserializeBytesPerSec: 800e6 });
    // 1 s serialize + 4 s write + 5 ms; 0.5 s deserialize + 2 s read + 5 ms.
    expect(estimated).toEqual({ bytes: 400e6, checkpointMs: 5005, loadMs: 2505, measured: false, verifyMs: 0 });
    const measured = groupCost(group('g', ['a'], 100e6, { serializeMs: 30, loadMs: 20 }), settings);
    expect(measured).toEqual({ bytes: 100e6, checkpointMs: 1035, loadMs: 525, measured: true, verifyMs: 0 });
  });

  it('costs nothing to checkpoint a group already stored, so the plan loads it rather than rerun a cheaper cell', () => {
    const stored = groupCost(group('g', ['a'], 100e6, { serializeMs: 30, loadMs: 20, stored: true }), settings);
    expect(stored).toEqual({ bytes: 0, checkpointMs: 0, loadMs: 525, measured: true, verifyMs: 0 });
    // Rerunning the cell (800 ms) beats saving + loading (1035 + 525 ms) but not loading alone (525 ms).
    const make = (isStored: boolean) =>
      problem([cell(1, 800, { writes: ['a'] })], [group('g1', ['a'], 100e6, { serializeMs: 30, loadMs: 20, stored: isStored })], { ...settings, objective: 'migration' });
    expect(planReplication(make(false)).serialize).toEqual([]);
    expect(planReplication(make(true)).serialize).toEqual(['g1']);
  });

  it('charges a recomputed group its verification, so a rerun that looks cheaper than a load may not be', () => {
    // Rerunning the cell (300 ms) beats saving + loading (200 ms + 150 ms) until fingerprinting the
    // recomputed value (120 ms) is counted: a load is verified by its checksum instead.
    const make = (verifyMs?: number) =>
      problem([cell(1, 300, { writes: ['a'] })], [group('g1', ['a'], 0, { serializeMs: 200, loadMs: 150, ...(verifyMs === undefined ? {} : { verifyMs }) })], {
        ...costs({ store: { writeBytesPerSec: 1e9, readBytesPerSec: 1e9, latencyMs: 0 } }),
        objective: 'migration',
      });
    expect(planReplication(make()).serialize).toEqual([]);
    const verified = planReplication(make(120));
    expect(verified.serialize).toEqual(['g1']);
    expect(verified.groups[0]!.reason).toBe('checkpoint + load 350 ms beats rerunning cell 1 (300 ms more) and verifying it (120 ms)');
    const recomputed = planReplication(make(40));
    expect(recomputed.serialize).toEqual([]);
    expect(recomputed.predicted.restoreMs).toBe(340);
    expect(objectiveCapacities(costTable(make(40)), 'migration').groupRecompute).toEqual(new Float64Array([40000]));
  });

  it('scales rerun time by the target speed factor', () => {
    expect(rerunMs(cell(1, 900), { ...settings, targetSpeedFactor: 3 })).toBe(300);
    expect(rerunMs(cell(1, 900), { ...settings, targetSpeedFactor: 0.5 })).toBe(1800);
  });

  it('builds integer µs capacities per objective', () => {
    const p = problem([cell(1, 1.2345)], [group('g', ['a'], 1e6, { serializeMs: 1, loadMs: 2 })]);
    p.costs.store.latencyMs = 0;
    // load = 2 ms + 10 ms read at 100 MB/s; checkpoint = 1 ms + 10 ms write.
    expect(objectiveCapacities(costTable(p), 'restore')).toEqual({ group: new Float64Array([12000]), groupRecompute: new Float64Array([0]), cell: new Float64Array([1235]), quantum: 1 });
    expect(objectiveCapacities(costTable(p), 'migration').group).toEqual(new Float64Array([23000]));
    // bytes dominate: one byte outweighs all the restore time there is.
    expect(objectiveCapacities(costTable(p), 'bytes').group).toEqual(new Float64Array([1e6 * (12000 + 1235 + 1) + 12000]));
    expect(lagrangianCapacities(costTable(p), 0.5).group).toEqual(new Float64Array([12000 + 5500]));
  });

  it('scales capacities down by one common quantum when they would overflow exact float64 integers', () => {
    const p = problem([cell(1, 1e12)], [group('g', ['a'], 1e12)], { objective: 'bytes' });
    const caps = objectiveCapacities(costTable(p), 'bytes');
    expect(caps.quantum).toBeGreaterThan(1);
    expect(caps.group[0]! + caps.cell[0]!).toBeLessThanOrEqual(2 ** 51 + 1);
    expect(Number.isInteger(caps.group[0]!)).toBe(true);
  });
});
