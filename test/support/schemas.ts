/** The CLI's JSON Schemas (packages/cli/schemas/*.schema.json, shipped in @nbferry/cli and nbferry), compiled with ajv: validate a --json document by its kind. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { repoRoot } from './python.js';

// ajv-formats is CommonJS: its default export arrives as a namespace under NodeNext.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

export const schemasDir = join(repoRoot, 'packages/cli/schemas');

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
for (const file of readdirSync(schemasDir).filter((f) => f.endsWith('.schema.json'))) {
  ajv.addSchema(JSON.parse(readFileSync(join(schemasDir, file), 'utf8')) as object);
}

/** Throws, listing every violation, unless `document` matches packages/cli/schemas/<kind>.schema.json and names nbferry/<kind>@1. */
export function assertDocument(kind: string, document: unknown): void {
  const validate = ajv.getSchema(`${kind}.schema.json`);
  if (!validate) throw new Error(`no schema packages/cli/schemas/${kind}.schema.json`);
  if (!validate(document)) {
    throw new Error(`not a valid nbferry/${kind}@1 document: ${ajv.errorsText(validate.errors, { separator: '\n  ' })}\n${JSON.stringify(document, null, 2).slice(0, 2000)}`);
  }
}
