/** A grouped horizontal bar chart as standalone SVG text (no dependency): rows are categories, one bar per series. */

export interface Series {
  name: string;
  color: string;
  /** One per category; null draws a marker with `missing[i]` (e.g. "failed") instead of a bar. */
  values: (number | null)[];
  missing?: (string | null)[];
}

export interface BarChart {
  title: string;
  subtitle?: string;
  categories: string[];
  series: Series[];
  scale: 'log' | 'linear';
  tick: (value: number) => string;
  /** Vertical reference lines, e.g. a target. */
  rules?: { value: number; label: string }[];
}

const LEFT = 250;
const PLOT = 560;
const RIGHT = 30;
const BAR = 7;
const GAP = 9;
const TOP = 70;

export function renderBarChart(chart: BarChart): string {
  const values = chart.series.flatMap((s) => s.values).filter((v): v is number => v !== null && (chart.scale === 'linear' || v > 0));
  const ruleValues = (chart.rules ?? []).map((r) => r.value);
  const { min, max, ticks } = chart.scale === 'log' ? logAxis([...values, ...ruleValues]) : linearAxis([...values, ...ruleValues]);
  const x = (v: number) =>
    LEFT + (chart.scale === 'log' ? ((Math.log10(Math.max(v, min)) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))) * PLOT : ((v - min) / (max - min)) * PLOT);
  const group = chart.series.length * BAR + GAP;
  const height = TOP + chart.categories.length * group + 40;
  const width = LEFT + PLOT + RIGHT;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="12" y="22" font-size="15" font-weight="bold">${esc(chart.title)}</text>`,
  ];
  if (chart.subtitle) out.push(`<text x="12" y="40" font-size="11" fill="#555">${esc(chart.subtitle)}</text>`);
  let lx = LEFT;
  for (const s of chart.series) {
    out.push(`<rect x="${lx}" y="48" width="10" height="10" fill="${s.color}"/><text x="${lx + 14}" y="57" font-size="11">${esc(s.name)}</text>`);
    lx += 24 + s.name.length * 6.5;
  }
  const bottom = TOP + chart.categories.length * group;
  for (const t of ticks) {
    const tx = x(t).toFixed(1);
    out.push(`<line x1="${tx}" y1="${TOP - 4}" x2="${tx}" y2="${bottom}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${tx}" y="${bottom + 14}" font-size="10" text-anchor="middle" fill="#444">${esc(chart.tick(t))}</text>`);
  }
  for (const rule of chart.rules ?? []) {
    const rx = x(rule.value).toFixed(1);
    out.push(`<line x1="${rx}" y1="${TOP - 4}" x2="${rx}" y2="${bottom}" stroke="#d62728" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${rx}" y="${bottom + 28}" font-size="10" text-anchor="middle" fill="#d62728">${esc(rule.label)}</text>`);
  }
  chart.categories.forEach((category, i) => {
    const gy = TOP + i * group;
    if (i % 2 === 1) out.push(`<rect x="0" y="${gy - GAP / 2}" width="${width}" height="${group}" fill="#f7f7f7" opacity="0.6"/>`);
    out.push(`<text x="${LEFT - 8}" y="${gy + (chart.series.length * BAR) / 2 + 4}" font-size="11" text-anchor="end">${esc(category)}</text>`);
    chart.series.forEach((s, j) => {
      const y = gy + j * BAR;
      const v = s.values[i];
      if (v === null || v === undefined || (chart.scale === 'log' && v <= 0)) {
        const why = s.missing?.[i] ?? (v !== null && v !== undefined ? '≤ 0' : null);
        if (why) out.push(`<text x="${LEFT + 3}" y="${y + BAR - 1}" font-size="7" fill="${s.color}">× ${esc(why)}</text>`);
        return;
      }
      const w = Math.max(1, x(v) - LEFT);
      out.push(`<rect x="${LEFT}" y="${y}" width="${w.toFixed(1)}" height="${BAR - 1}" fill="${s.color}"><title>${esc(`${category} · ${s.name}: ${chart.tick(v)}`)}</title></rect>`);
    });
  });
  out.push(`<line x1="${LEFT}" y1="${TOP - 4}" x2="${LEFT}" y2="${bottom}" stroke="#333"/>`, '</svg>');
  return `${out.join('\n')}\n`;
}

function logAxis(values: number[]): { min: number; max: number; ticks: number[] } {
  const positive = values.filter((v) => v > 0);
  const lo = positive.length ? Math.min(...positive) : 1;
  const hi = positive.length ? Math.max(...positive) : 10;
  // Ends and ticks on the 1-2-5 sequence, just around the data.
  const steps = (from: number, to: number) => {
    const out: number[] = [];
    for (let d = 10 ** Math.floor(Math.log10(from)); d <= to * 10; d *= 10) for (const m of [1, 2, 5]) out.push(Number((d * m).toPrecision(3)));
    return out;
  };
  const candidates = steps(lo, hi);
  const min = [...candidates].reverse().find((c) => c <= lo) ?? candidates[0]!;
  const max = candidates.find((c) => c >= hi * 1.0001 && c > min) ?? min * 10;
  const within = candidates.filter((c) => c >= min && c <= max);
  const ticks = Math.log10(max / min) > 3 ? within.filter((c) => Math.abs(Math.log10(c) % 1) < 1e-9) : within;
  return { min, max, ticks };
}

function linearAxis(values: number[]): { min: number; max: number; ticks: number[] } {
  const lo = Math.min(0, ...values);
  const hi = Math.max(...values, lo + 1e-9);
  const step = niceStep((hi - lo) / 6);
  const min = Math.floor(lo / step) * step;
  const max = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  for (let t = min; t <= max + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  return { min, max, ticks };
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
