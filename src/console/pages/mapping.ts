/**
 * `/console/mapping`: the mapping checked against the Yida form's field definitions, and a dry-run preview of what
 * the next run would write for a few products (nothing is written).
 */
import type { PreviewItem } from '../../mapping/preview.js';
import type { MappingCheckState } from '../mapping-monitor.js';
import { bi, csrfField, formatInstant, html, type Html } from './html.js';
import { page } from './layout.js';

export interface MappingPageData {
  csrf: string;
  sandbox: boolean;
  timezone: string;
  mappingFile: string;
  check?: MappingCheckState;
  preview?: { items: PreviewItem[]; labels: Map<string, string> } | { error: string };
  notice?: string;
}

function checkPart(d: MappingPageData): Html {
  const recheck = html`<form class="actions" method="post" action="/console/mapping/check">${csrfField(d.csrf)}<button class="secondary" type="submit" id="recheck">${bi('重新检查（1 次钉钉调用）', 'Check again (1 DingTalk call)')}</button></form>`;
  const c = d.check;
  if (!c) return html`<p class="muted">${bi('尚未检查。', 'Not checked yet.')}</p>${recheck}`;
  const when = html`<p class="muted">${bi('检查于', 'Checked at')} ${formatInstant(c.checkedAt, d.timezone)}</p>`;
  if (c.error) return html`${when}<p class="error" id="check-error">${bi('无法读取宜搭表单定义', 'Could not read the Yida form definition')}: <code>${c.error.code}</code> ${c.error.message}</p>${recheck}`;
  const r = c.result!;
  const verdict = r.ok
    ? html`<p class="ok" id="check-verdict">✓ ${bi(`映射与表单相符（映射 ${r.rows.length} 个字段，表单 ${r.formFieldCount} 个字段）`, `The mapping fits the form (${r.rows.length} mapped, ${r.formFieldCount} form fields)`)}</p>`
    : html`<p class="bad" id="check-verdict">✗ ${bi(`映射与表单不符：${r.problems.length} 个问题`, `The mapping does not fit the form: ${r.problems.length} problem(s)`)}</p>`;
  const findings = [...r.problems.map((p) => html`<li class="bad"><code>${p.kind}</code> ${p.message}</li>`), ...r.warnings.map((w) => html`<li class="warn"><code>${w.kind}</code> ${w.message}</li>`)];
  const rows = r.rows.map((row) => html`<tr class="${row.ok ? '' : 'diff-no'}"><td>${row.ok ? html`<span class="ok">✓</span>` : html`<span class="bad">✗</span>`}</td><td><code>${row.field}</code></td><td>${row.label}</td><td>${row.type}</td><td>${row.formComponent ?? html`<span class="bad">${bi('表单中没有', 'not in the form')}</span>`}</td><td>${row.formLabel ?? ''}</td></tr>`);
  const unmapped = r.unmapped.length ? html`<p class="muted">${bi('未映射的表单字段', 'Form fields not mapped')}: ${r.unmapped.map((u, i) => html`${i ? ', ' : ''}${u.label ?? u.fieldId} <code>${u.fieldId}</code>`)}</p>` : '';
  return html`${when}${verdict}${findings.length ? html`<ul id="findings">${findings}</ul>` : ''}${recheck}
<div class="table-wrap"><table id="mapping-rows"><thead><tr><th></th><th>${bi('字段 ID', 'Field id')}</th><th>${bi('标签', 'Label')}</th><th>${bi('类型', 'Type')}</th><th>${bi('表单组件', 'Form component')}</th><th>${bi('表单标签', 'Form label')}</th></tr></thead><tbody>${rows}</tbody></table></div>${unmapped}`;
}

function previewPart(d: MappingPageData): Html {
  const p = d.preview;
  if (!p) return html`<p><a class="button" href="/console/mapping?preview=5" id="preview">${bi('预览 5 个产品', 'Preview 5 products')}</a></p>`;
  if ('error' in p) return html`<p class="error">${p.error}</p>`;
  if (!p.items.length) return html`<p class="muted">${bi('OKKI 中没有可预览的产品。', 'OKKI has no product to preview.')}</p>`;
  const blocks = p.items.map((item) => {
    if (item.rejected) return html`<section class="card preview-item"><h3><code>${item.product_no ?? '—'}</code> <span class="bad">${bi('会被拒绝', 'would be rejected')}</span></h3><p class="reason"><code>${item.rejected.code}</code> ${item.rejected.reason}</p></section>`;
    const rows = Object.entries(item.formData ?? {}).map(([f, v]) => html`<tr><td>${p.labels.get(f) ?? f}<br><code class="muted">${f}</code></td><td>${v === null ? html`<span class="muted">null</span>` : typeof v === 'string' ? v : JSON.stringify(v)}</td></tr>`);
    return html`<section class="card preview-item"><h3><code>${item.product_no}</code> <span class="ok">${bi('会写入', 'would write')}</span></h3><div class="table-wrap"><table><tbody>${rows}</tbody></table></div></section>`;
  });
  return html`<p class="muted">${bi('仅预览，不写入任何数据。', 'Preview only: nothing is written.')}</p>${blocks}`;
}

export function renderMappingPage(d: MappingPageData): string {
  const body = html`<h1>${bi('映射检查', 'Mapping check')}</h1>
<p class="muted">${bi('映射文件', 'Mapping file')}: <code>${d.mappingFile}</code></p>
<section id="check"><h2>${bi('与宜搭表单对照', 'Against the Yida form')}</h2>${checkPart(d)}</section>
<section id="preview-section"><h2>${bi('预览下次运行写入的内容', 'Preview of what the next run writes')}</h2>${previewPart(d)}</section>`;
  return page({ title: '映射 Mapping', csrf: d.csrf, sandbox: d.sandbox, current: 'mapping', notice: d.notice }, body);
}
