/** The results table (terminal and bench/RESULTS.md) and the machine description it is printed with. */
import os from 'node:os';

export type Verdict = 'met' | 'MISSED' | 'n/a' | 'ERROR';

export interface Row {
  /** the measure's id (what `--only` takes) */
  item: string;
  measure: string;
  figures: string;
  target: string;
  verdict: Verdict;
  /** what limits the figure, or why a target was missed */
  note?: string;
}

export function machine(): { date: string; os: string; cpu: string; cpus: number; memoryGb: number; node: string } {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cpus: cpus.length,
    memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
  };
}

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, '<br>');

export function markdownTable(rows: Row[]): string {
  const head = '| Id | Measure | Figures | Target | Result | What limits it / note |\n|---|---|---|---|---|---|';
  const body = rows.map((r) => `| ${r.item} | ${esc(r.measure)} | ${esc(r.figures)} | ${esc(r.target)} | ${r.verdict === 'MISSED' || r.verdict === 'ERROR' ? `**${r.verdict}**` : r.verdict} | ${esc(r.note ?? '')} |`);
  return [head, ...body].join('\n');
}

export function terminalTable(rows: Row[]): string {
  const out: string[] = [];
  for (const r of rows) {
    out.push(`${r.item.padEnd(22)} ${r.verdict.padEnd(6)} ${r.measure}`);
    out.push(`      ${r.figures}`);
    out.push(`      target: ${r.target}${r.note ? `\n      note: ${r.note}` : ''}`);
  }
  return out.join('\n');
}

export const fmt = {
  n: (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : String(x)),
  pct: (x: number) => `${(x * 100).toFixed(1)}%`,
  int: (x: number) => x.toLocaleString('en-US'),
};
