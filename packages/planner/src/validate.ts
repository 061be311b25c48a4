import { InvalidProblemError } from './errors.js';
import type { PlanningProblem } from './problem.js';

const OBJECTIVES = new Set(['restore', 'migration', 'bytes']);

function isNonNegative(x: unknown): boolean {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0;
}

function isPositive(x: unknown): boolean {
  return typeof x === 'number' && Number.isFinite(x) && x > 0;
}

/** Throws InvalidProblemError listing every structural problem (the planner trusts nothing else). */
export function validateProblem(problem: PlanningProblem): void {
  const issues: string[] = [];
  const ids = new Set<number>();
  for (let i = 0; i < problem.cells.length; i++) {
    const cell = problem.cells[i]!;
    if (typeof cell.id !== 'number' || !Number.isFinite(cell.id)) issues.push(`cell #${i} has a non-finite id`);
    else if (ids.has(cell.id)) issues.push(`cell id ${cell.id} is used twice`);
    ids.add(cell.id);
    if (!isNonNegative(cell.runtimeMs)) issues.push(`cell ${cell.id} has an invalid runtimeMs`);
  }
  const groupIds = new Set<string>();
  const owner = new Map<string, string>();
  for (const group of problem.groups) {
    if (groupIds.has(group.id)) issues.push(`group id ${group.id} is used twice`);
    groupIds.add(group.id);
    if (group.names.length === 0) issues.push(`group ${group.id} has no names`);
    for (const name of group.names) {
      const previous = owner.get(name);
      if (previous !== undefined) issues.push(`variable ${name} is in groups ${previous} and ${group.id}`);
      owner.set(name, group.id);
    }
    if (!isNonNegative(group.bytes)) issues.push(`group ${group.id} has invalid bytes`);
    if (group.serializeMs !== undefined && !isNonNegative(group.serializeMs)) {
      issues.push(`group ${group.id} has an invalid serializeMs`);
    }
    if (group.loadMs !== undefined && !isNonNegative(group.loadMs)) issues.push(`group ${group.id} has an invalid loadMs`);
    if (group.verifyMs !== undefined && !isNonNegative(group.verifyMs)) issues.push(`group ${group.id} has an invalid verifyMs`);
  }
  const costs = problem.costs;
  if (!isPositive(costs.targetSpeedFactor)) issues.push('costs.targetSpeedFactor must be a positive number');
  if (!isPositive(costs.store.writeBytesPerSec)) issues.push('costs.store.writeBytesPerSec must be positive');
  if (!isPositive(costs.store.readBytesPerSec)) issues.push('costs.store.readBytesPerSec must be positive');
  if (!isNonNegative(costs.store.latencyMs)) issues.push('costs.store.latencyMs must be non-negative');
  if (!OBJECTIVES.has(costs.objective)) issues.push(`unknown objective ${String(costs.objective)}`);
  if (costs.serializeBytesPerSec !== undefined && !isPositive(costs.serializeBytesPerSec)) {
    issues.push('costs.serializeBytesPerSec must be positive');
  }
  if (costs.deserializeBytesPerSec !== undefined && !isPositive(costs.deserializeBytesPerSec)) {
    issues.push('costs.deserializeBytesPerSec must be positive');
  }
  if (issues.length > 0) throw new InvalidProblemError(issues);
}
