/**
 * The checkpoint body's shape, checked before a restore reads it. A manifest whose digest is valid
 * may still have been written by hand or by another tool: a missing or mistyped field becomes a
 * CorruptCheckpointError that names it, never a TypeError in the middle of a restore.
 */
import { CorruptCheckpointError } from '@nbferry/store';

type Check = (value: unknown) => boolean;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const isString: Check = (v) => typeof v === 'string';
const isNumber: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const isBoolean: Check = (v) => typeof v === 'boolean';
const isBytes: Check = (v) => v instanceof Uint8Array;
const arrayOf = (item: Check): Check => (v) => Array.isArray(v) && v.every(item);
const optional = (check: Check): Check => (v) => v === undefined || v === null || check(v);
const shape =
  (fields: Record<string, Check>): Check =>
  (v) =>
    isObject(v) && Object.entries(fields).every(([k, check]) => check(v[k]));

const names = arrayOf(isString);
const cellRecord = shape({ seq: isNumber, kind: isString, code: isString, executionCount: optional(isNumber), cellId: optional(isString) });
const cell = shape({ id: isNumber, runtimeMs: isNumber, reads: names, writes: names, deletes: names, success: isBoolean, sideEffects: isBoolean, nondeterministic: isBoolean });
const group = shape({ id: isString, names, serializable: isBoolean, bytes: isNumber, reason: optional(isString), splitOf: (v) => v === undefined || isString(v) });
const step: Check = (v) => isObject(v) && ((v.kind === 'load' && isString(v.group) && names(v.names)) || (v.kind === 'run' && isNumber(v.cell)));

const FIELDS: [string, Check][] = [
  ['history', shape({ executions: arrayOf(cellRecord) })],
  ['problem', shape({ cells: arrayOf(cell), groups: arrayOf(group), costs: isObject })],
  [
    'plan',
    shape({
      serialize: names,
      rerun: arrayOf(isNumber),
      program: arrayOf(step),
      variables: arrayOf(shape({ name: isString, decision: isString })),
      strayNames: names,
    }),
  ],
  ['fingerprints', (v) => isObject(v) && isString(v.algo) && isObject(v.values) && Object.values(v.values).every(optional(isString))],
  ['unrecoverable', arrayOf(shape({ name: isString, reason: isString }))],
  ['rng', arrayOf(shape({ seq: isNumber, python: optional(isBytes), numpy: optional(isBytes), env: optional(isBytes) }))],
  ['cwd', isString],
];

/** The first body field that is missing or malformed, or undefined. */
export function checkpointBodyProblem(body: unknown): string | undefined {
  if (!isObject(body)) return 'the checkpoint body is missing';
  for (const [field, check] of FIELDS) {
    if (!check(body[field])) return `the checkpoint body's \`${field}\` is missing or malformed`;
  }
  return undefined;
}

export function assertCheckpointBody(body: unknown, path: string): void {
  const problem = checkpointBodyProblem(body);
  if (problem) throw new CorruptCheckpointError(path, problem);
}
