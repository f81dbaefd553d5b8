/**
 * The mirror's part of a run page: a sweep's read of the catalogue, gone products and what was done about them
 * (with the confirm button when the SYNC_DELETE_MAX guard held), an audit's findings (with the repair button).
 * The buttons post to the run's own routes; the server takes the action from the record, not from the form.
 */
import type { AuditSummary, GoneSummary, ProductList, RunRecord, SweepSummary } from '../../core/index.js';
import { bi, csrfField, html, type Html } from './html.js';

const AUDIT_PARTS: [keyof Pick<AuditSummary, 'missing' | 'duplicates' | 'stale' | 'orphans'>, string, string][] = [
  ['missing', '宜搭缺失', 'missing in Yida'], ['duplicates', '重复实例', 'duplicates'], ['stale', '数据过期', 'stale'], ['orphans', '孤立实例', 'orphans'],
];

function numbers(list: ProductList | undefined): Html {
  if (!list?.product_nos.length) return html``;
  const more = list.count > list.product_nos.length ? html` … (+${list.count - list.product_nos.length})` : '';
  return html`${list.product_nos.map((no, i) => html`${i ? ', ' : ''}<a href="/console/products?no=${encodeURIComponent(no)}">${no}</a>`)}${more}`;
}

/** A confirm/repair button only makes sense on a finished run. */
const actionable = (run: RunRecord) => run.status !== 'running';

function sweepPart(s: SweepSummary): Html {
  return html`<h2>${bi('删除清扫', 'Sweep')}</h2><dl id="sweep">
<dt>${bi('OKKI 列出', 'listed by OKKI')}</dt><dd>${s.listed} ${s.complete ? bi('（完整读取）', '(read in full)') : html`<span class="warn">${bi('（未完整读取：不做任何删除）', '(not read in full: nothing is removed)')}</span>`}</dd>
<dt>${bi('候选', 'candidates')}</dt><dd>${s.candidates}</dd>
${s.stillInOkki?.count ? html`<dt>${bi('OKKI 仍有', 'still in OKKI')}</dt><dd>${s.stillInOkki.count} · ${numbers(s.stillInOkki)}</dd>` : ''}</dl>`;
}

function gonePart(run: RunRecord, g: GoneSummary, csrf: string): Html {
  const guard = g.guarded
    ? html`<p class="warn" id="delete-guard">${bi(`有 ${g.guarded.count} 个产品已从 OKKI 消失，超过 SYNC_DELETE_MAX（${g.guarded.max}）：未做任何标记或删除。`, `${g.guarded.count} products are gone from OKKI, more than SYNC_DELETE_MAX (${g.guarded.max}): nothing was marked or deleted.`)}
${g.guarded.sampled ? bi(`抽查 ${g.guarded.sampled.checked} 个，OKKI 仍有 ${g.guarded.sampled.stillInOkki} 个。`, `Spot check: ${g.guarded.sampled.checked} looked up, ${g.guarded.sampled.stillInOkki} still in OKKI.`) : ''}</p>
${actionable(run) ? html`<form class="actions" method="post" action="/console/runs/${encodeURIComponent(run.id)}/confirm-deletes" data-confirm="确认对这 ${g.guarded.count} 个产品按 SYNC_DELETIONS 标记或删除？ Mark or delete these ${g.guarded.count} products per SYNC_DELETIONS?">${csrfField(csrf)}<button class="danger" type="submit" id="confirm-deletes">${bi('核对后确认删除', 'Checked: confirm the deletions')}</button> <code class="muted">${g.guarded.confirm}</code></form>` : ''}`
    : '';
  return html`<h2>${bi('已消失的产品', 'Gone products')}</h2><dl id="gone">
<dt>${bi('发现', 'found')}</dt><dd>${g.found.count} ${numbers(g.found)}</dd>
<dt>${bi('待处理', 'due')}</dt><dd>${g.due}</dd>
<dt>${bi('已标记 / 已删除 / 保留', 'marked / deleted / kept')}</dt><dd>${g.marked} / ${g.deleted} / ${g.kept}</dd></dl>${guard}`;
}

function auditPart(run: RunRecord, a: AuditSummary, csrf: string): Html {
  const rows = AUDIT_PARTS.map(([k, zh, en]) => html`<tr><th>${bi(zh, en)}</th><td class="num" id="audit-${k}">${a[k].count}</td><td>${numbers(a[k])}</td></tr>`);
  const findings = AUDIT_PARTS.reduce((n, [k]) => n + a[k].count, 0);
  const r = a.repaired;
  const repaired = r
    ? html`<p id="audit-repaired">${bi('已修复', 'Repaired')}: ${bi('新建', 'created')} ${r.created} · ${bi('更新', 'updated')} ${r.updated} · ${bi('删除重复', 'duplicates removed')} ${r.duplicatesRemoved} · ${bi('标记孤立', 'orphans marked')} ${r.orphansMarked} · ${bi('删除孤立', 'orphans deleted')} ${r.orphansDeleted}${r.failed ? html` · <span class="bad">${bi('失败', 'failed')} ${r.failed}</span>` : ''}</p>`
    : '';
  const button = findings > 0 && !r && actionable(run)
    ? html`<form class="actions" method="post" action="/console/runs/${encodeURIComponent(run.id)}/repair" data-confirm="按核对结果修复：新建缺失、更新过期、删除多余重复、按 SYNC_DELETIONS 处理孤立实例？ Repair: create the missing, update the stale, remove extra duplicates, treat orphans per SYNC_DELETIONS?">${csrfField(csrf)}<button class="danger" type="submit" id="audit-repair">${bi('修复', 'Repair')}</button></form>`
    : '';
  return html`<h2>${bi('核对结果', 'Audit')} <span class="muted">${bi(`宜搭 ${a.instances} 个实例 · OKKI ${a.products} 个产品`, `${a.instances} Yida instances · ${a.products} OKKI products`)}</span></h2>
<div class="table-wrap"><table id="audit"><tbody>${rows}</tbody></table></div>${repaired}${button}`;
}

export function mirrorSections(run: RunRecord, csrf: string): Html {
  return html`${run.sweep ? sweepPart(run.sweep) : ''}${run.gone ? gonePart(run, run.gone, csrf) : ''}${run.audit ? auditPart(run, run.audit, csrf) : ''}`;
}
