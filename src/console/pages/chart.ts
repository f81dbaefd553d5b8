/**
 * The month's usage against its budget as an inline SVG: cumulative use by day (or, when only the month-to-date total
 * is known, a straight line to today), a dashed projection to the month's end at the month's pace so far, the budget
 * and its 80 % mark. No script, no library: attributes only, so the pages' CSP stays strict.
 */
import { esc } from './html.js';

export interface UsageChartInput {
  title: string;
  used: number;
  /** 0 = unlimited (no budget line) */
  budget: number;
  /** day of the month today (1-based) and the month's length */
  day: number;
  daysInMonth: number;
  /** cumulative use at the end of each day so far, when known (index 0 = day 1) */
  daily?: number[];
}

const W = 600;
const H = 220;
const PAD = { l: 52, r: 14, t: 14, b: 30 };

function niceMax(v: number): number {
  if (v <= 10) return 10;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function projectedUse(used: number, day: number, daysInMonth: number): number {
  return day > 0 ? Math.round((used / day) * daysInMonth) : used;
}

export function usageChart(c: UsageChartInput): string {
  const projected = projectedUse(c.used, c.day, c.daysInMonth);
  const top = niceMax(Math.max(c.budget, projected, c.used, 1) * 1.05);
  const x = (d: number) => PAD.l + (d / c.daysInMonth) * (W - PAD.l - PAD.r);
  const y = (v: number) => H - PAD.b - (v / top) * (H - PAD.t - PAD.b);
  const f = (n: number) => n.toFixed(1);
  const parts: string[] = [];
  // axes and grid
  for (let i = 0; i <= 4; i++) {
    const v = (top / 4) * i;
    parts.push(`<line x1="${PAD.l}" y1="${f(y(v))}" x2="${W - PAD.r}" y2="${f(y(v))}" stroke="#eaeef2"/>`);
    parts.push(`<text x="${PAD.l - 6}" y="${f(y(v) + 4)}" text-anchor="end" font-size="11" fill="#57606a">${Math.round(v)}</text>`);
  }
  for (const d of [1, 10, 20, c.daysInMonth]) {
    parts.push(`<text x="${f(x(d))}" y="${H - 10}" text-anchor="middle" font-size="11" fill="#57606a">${d}</text>`);
  }
  parts.push(`<line x1="${PAD.l}" y1="${H - PAD.b}" x2="${W - PAD.r}" y2="${H - PAD.b}" stroke="#8c959f"/>`);
  if (c.budget > 0) {
    parts.push(`<line x1="${PAD.l}" y1="${f(y(c.budget))}" x2="${W - PAD.r}" y2="${f(y(c.budget))}" stroke="#cf222e" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${W - PAD.r}" y="${f(y(c.budget) - 4)}" text-anchor="end" font-size="11" fill="#cf222e">预算 budget ${c.budget}</text>`);
    parts.push(`<line x1="${PAD.l}" y1="${f(y(c.budget * 0.8))}" x2="${W - PAD.r}" y2="${f(y(c.budget * 0.8))}" stroke="#bf8700" stroke-dasharray="2 4"/>`);
    parts.push(`<text x="${PAD.l + 4}" y="${f(y(c.budget * 0.8) - 4)}" font-size="11" fill="#9a6700">80%</text>`);
  }
  const pts = c.daily?.length
    ? [[0, 0], ...c.daily.slice(0, c.day).map((v, i) => [i + 1, v])]
    : [[0, 0], [c.day, c.used]];
  parts.push(`<polyline fill="none" stroke="#0969da" stroke-width="2.5" points="${pts.map(([d, v]) => `${f(x(d!))},${f(y(v!))}`).join(' ')}"/>`);
  parts.push(`<line x1="${f(x(c.day))}" y1="${f(y(c.used))}" x2="${f(x(c.daysInMonth))}" y2="${f(y(projected))}" stroke="#0969da" stroke-width="1.5" stroke-dasharray="5 4"/>`);
  parts.push(`<circle cx="${f(x(c.day))}" cy="${f(y(c.used))}" r="4" fill="#0969da"/>`);
  parts.push(`<text x="${f(Math.min(x(c.day) + 6, W - PAD.r - 90))}" y="${f(y(c.used) - 8)}" font-size="12" fill="#0969da">${c.used}</text>`);
  const desc = `${c.title}: ${c.used}${c.budget > 0 ? ` / ${c.budget}` : ''}; 按当前速度月底约 ${projected} / at this pace about ${projected} by the month's end`;
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(desc)}" xmlns="http://www.w3.org/2000/svg"><title>${esc(desc)}</title>${parts.join('')}</svg>`;
}
