/** The three plots of a run: migration time, recording overhead, checkpoint bytes. */
import { bytes as formatBytes, seconds } from './format.js';
import type { BenchReport } from './report-json.js';
import { methodOf } from './summary.js';
import { renderBarChart, type Series } from './svg-chart.js';
import { METHODS, type MethodName, type MethodSummary } from './types.js';

const COLORS: Record<MethodName, string> = {
  nbferry: '#1f77b4',
  'nbferry-precopy': '#17becf',
  'rerun-all': '#8c8c8c',
  dill: '#ff7f0e',
  'pickle-all': '#2ca02c',
  kishu: '#9467bd',
  elasticnotebook: '#8c564b',
};

export function renderPlots(report: BenchReport): Record<string, string> {
  const categories = report.notebooks.map((nb) => nb.notebook.replace(/\.ipynb$/, ''));
  const methods = METHODS.filter((m) => report.notebooks.some((nb) => methodOf(nb, m)?.statuses.some((s) => s === 'ok' || s === 'failed')));
  const sub = `${report.settings.size} data, median of ${report.settings.repeat} repeat(s); ${report.environment.machine.cores} cores; ${report.environment.date.slice(0, 10)}`;
  const series = (pick: (s: MethodSummary) => number | null, only = methods): Series[] =>
    only.map((m) => ({
      name: m,
      color: COLORS[m],
      values: report.notebooks.map((nb) => {
        const s = methodOf(nb, m);
        return s ? pick(s) : null;
      }),
      missing: report.notebooks.map((nb) => {
        const s = methodOf(nb, m);
        return !s ? null : s.statuses.every((x) => x !== 'ok') ? (s.statuses[0] === 'unavailable' ? 'unavailable' : 'failed') : null;
      }),
    }));
  const instrumented = methods.filter((m) => m === 'nbferry' || m === 'kishu' || m === 'elasticnotebook');
  return {
    'migration-time.svg': renderBarChart({
      title: 'Migration time (checkpoint + restore into a fresh kernel), log scale',
      subtitle: sub,
      categories,
      series: series((s) => s.migrationMs?.median ?? null),
      scale: 'log',
      tick: seconds,
    }),
    'overhead.svg': renderBarChart({
      title: 'Recording overhead against an unrecorded run (runtime of all cells), log scale',
      subtitle: `${sub}; ≤ 0 = the recorded run was faster (noise)`,
      categories,
      series: [
        ...series((s) => s.runtimeOverheadPct?.median ?? null, instrumented).map((s) => ({ ...s, name: `${s.name} runtime` })),
        ...series((s) => s.memoryOverheadPct?.median ?? null, instrumented.filter((m) => m === 'nbferry')).map((s) => ({
          ...s,
          name: `${s.name} peak memory`,
          color: '#17becf',
        })),
      ],
      scale: 'log',
      tick: (v) => `${v >= 1 ? v.toFixed(0) : v.toPrecision(1)}%`,
      rules: [
        { value: 1, label: '1%' },
        { value: 5, label: '5%' },
      ],
    }),
    'bytes.svg': renderBarChart({
      title: 'Bytes written by the checkpoint, log scale',
      subtitle: sub,
      categories,
      series: series((s) => s.bytes?.median ?? null, methods.filter((m) => m !== 'rerun-all')),
      scale: 'log',
      tick: formatBytes,
    }),
  };
}
