/**
 * Small helpers every console page uses: escaping (which also passes the text through the secret redactor, so a
 * secret that slipped into a reason or a record can never reach a page), bilingual labels, times and numbers.
 */
import { redact } from '../../redact.js';

/** HTML-escape a value for text or a quoted attribute; secrets become `***` first. */
export function esc(value: unknown): string {
  return redact(String(value ?? '')).replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Already-safe markup, as opposed to text that must be escaped. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string { return this.text; }
}

export const raw = (text: string) => new Html(text);

/** Tagged template: interpolations are escaped unless they are Html (or arrays of Html). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

function render(v: unknown): string {
  if (v instanceof Html) return v.text;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === undefined || v === null || v === false) return '';
  return esc(v);
}

/** Chinese first, English beside it. */
export function bi(zh: string, en: string): Html {
  return html`${zh} <span class="en">${en}</span>`;
}

/** `YYYY-MM-DD HH:mm:ss` in the given zone (the shape run windows use); '—' for nothing. */
export function formatInstant(value: Date | string | null | undefined, timezone: string): string {
  if (value === null || value === undefined || value === '') return '—';
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toLocaleString('sv-SE', { timeZone: timezone, hour12: false });
}

/** 45 秒 / 3 分 / 2 小时 / 3 天 (and English beside), for ages and times left. */
export function formatSpan(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} 秒 (${s}s)`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} 分 (${m} min)`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} 小时 ${m % 60} 分 (${h} h ${m % 60} min)`;
  const d = Math.floor(h / 24);
  return `${d} 天 (${d} d)`;
}

export function formatRate(perSecond: number | undefined): string {
  if (perSecond === undefined || !Number.isFinite(perSecond) || perSecond <= 0) return '—';
  return perSecond >= 100 ? perSecond.toFixed(0) : perSecond >= 10 ? perSecond.toFixed(1) : perSecond.toFixed(2);
}

export const STATUS_LABEL: Record<string, [string, string]> = {
  running: ['运行中', 'running'],
  succeeded: ['成功', 'succeeded'],
  partial: ['部分成功', 'partial'],
  failed: ['失败', 'failed'],
  skipped: ['已跳过', 'skipped'],
};

export function statusBadge(status: string): Html {
  const [zh, en] = STATUS_LABEL[status] ?? [status, status];
  return html`<span class="badge st-${status}">${bi(zh, en)}</span>`;
}

export const TRIGGER_LABEL: Record<string, [string, string]> = {
  webhook: ['宜搭按钮', 'webhook'], schedule: ['定时', 'schedule'], cli: ['命令行', 'CLI'], startup: ['启动', 'start-up'],
  console: ['控制台', 'console'], push: ['OKKI 推送', 'OKKI push'],
};

export const MODE_LABEL: Record<string, [string, string]> = {
  incremental: ['增量', 'incremental'], full: ['全量', 'full'], targeted: ['指定产品', 'targeted'],
  sweep: ['删除清扫', 'sweep'], audit: ['核对', 'audit'],
};

export function label(map: Record<string, [string, string]>, key: string): Html {
  const [zh, en] = map[key] ?? [key, key];
  return bi(zh, en);
}

/** A hidden CSRF field for a POST form. */
export function csrfField(token: string): Html {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}
