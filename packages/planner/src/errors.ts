/** Base class of every error the planner throws on purpose. */
export class PlannerError extends Error {
  override readonly name: string = 'PlannerError';
}

/** The problem is malformed (duplicate ids, a name in two groups, negative or non-finite numbers...). */
export class InvalidProblemError extends PlannerError {
  override readonly name = 'InvalidProblemError';
  constructor(readonly issues: readonly string[]) {
    super(`invalid planning problem: ${issues.join('; ')}`);
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
  override readonly name = 'NoValidPlanError';
  constructor(readonly variables: readonly UnplannableVariable[]) {
    super(
      `no valid replication plan: ${variables.map((v) => `${v.name} (group ${v.group}): ${v.reason}`).join('; ')}`,
    );
  }
}
