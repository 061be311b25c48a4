/** The last line of a restore or migration report: whole, or what exactly is not. */
import type { VerificationReport } from '@nbferry/migrate';

export function verdictText(verification: VerificationReport, allowDifferent: boolean): string {
  const different = verification.totals['recomputed-different'];
  const lost = verification.totals.lost;
  if (lost === 0 && different === 0) return 'Nothing was lost.';
  const differentText = `${different} variable(s) came back DIFFERENT (a rerun produced another value)`;
  if (lost === 0 && allowDifferent) return `Nothing was lost; ${differentText}, accepted with --allow-different.`;
  const parts = [`${lost} variable(s) LOST`];
  if (different > 0) parts.unshift(differentText);
  return (
    `Not whole: ${parts.join(', ')}.` +
    (different > 0 && !allowDifferent ? ' If those values may differ (timestamps, files that changed since), --allow-different accepts them.' : '')
  );
}
