import { NbferryError } from '@nbferry/protocol';

/** Base class of every error the planner throws on purpose. */
export class PlannerError extends NbferryError {
  override name = 'PlannerError';
}

/** The problem is malformed (duplicate ids, a name in two groups, negative or non-finite numbers...). */
export class InvalidProblemError extends PlannerError {
  override name = 'InvalidProblemError';
  constructor(readonly issues: readonly string[]) {
    super(`invalid planning problem: ${issues.join('; ')}`, 'INVALID_PROBLEM');
  }
}

/** One active variable that no plan can bring back, and why. */
export interface UnplannableVariable {
  name: string;
  group: string;
  reason: string;
}

/**
 * No valid plan exists: some variable can be neither serialized nor recomputed, e.g. an
 * unserializable variable of unknown provenance, or one whose producing cell failed.
 */
export class NoValidPlanError extends PlannerError {
  override name = 'NoValidPlanError';
  constructor(readonly variables: readonly UnplannableVariable[]) {
    super(
      `no valid replication plan: ${variables.map((v) => `${v.name} (group ${v.group}): ${v.reason}`).join('; ')}`,
      'NO_VALID_PLAN',
    );
  }
}
