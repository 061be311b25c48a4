// Prints the one closing line CI reads: "N passed, N failed", summed over vitest, pytest (one
// report or more) and the type-check (counted as one test). A missing report counts as a failure, never as a pass.
import { existsSync, readFileSync } from 'node:fs';

const [vitestJson, pytestXml, tscFailed, ...morePytestXml] = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;

if (vitestJson && existsSync(vitestJson)) {
  const report = JSON.parse(readFileSync(vitestJson, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests + (report.numRuntimeErrors ?? 0);
  skipped += report.numPendingTests + report.numTodoTests;
  // A test file that failed to load has no tests in it but must still count.
  for (const file of report.testResults ?? []) {
    if (file.status === 'failed' && (file.assertionResults ?? []).length === 0) failed += 1;
  }
} else {
  console.error('no vitest report');
  failed += 1;
}

for (const xmlPath of [pytestXml, ...morePytestXml]) {
  if (xmlPath && existsSync(xmlPath)) {
    const xml = readFileSync(xmlPath, 'utf8');
    const suite = /<testsuite\b[^>]*>/.exec(xml)?.[0] ?? '';
    const attr = (name) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(suite)?.[1] ?? 0);
    const total = attr('tests');
    const bad = attr('failures') + attr('errors');
    const skip = attr('skipped');
    passed += total - bad - skip;
    failed += bad;
    skipped += skip;
  } else {
    console.error(`no pytest report${xmlPath ? ` (${xmlPath})` : ''}`);
    failed += 1;
  }
}

if (tscFailed === '1') failed += 1;
else passed += 1;

console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
