/**
 * `/console/products?no=…`: the OKKI record, the mapped form data, the ledger entry, what Yida holds now and the
 * difference, for one product number; and a Sync-now button for it.
 */
import type { ProductLookup } from '../lookup.js';
import { bi, csrfField, formatInstant, html, type Html } from './html.js';
import { page } from './layout.js';

export interface ProductPageData {
  csrf: string;
  sandbox: boolean;
  timezone: string;
  query?: string;
  lookup?: ProductLookup;
  /** why no lookup happened (bad input) */
  problem?: string;
  notice?: string;
}

/** A value as a table cell shows it: JSON for structures, 'null' greyed out for empty. */
function cell(v: unknown): Html {
  if (v === undefined) return html`<span class="muted">—</span>`;
  if (v === null || v === '') return html`<span class="muted">${v === null ? 'null' : '""'}</span>`;
  return html`${typeof v === 'string' ? v : JSON.stringify(v)}`;
}

function failed(error: string): Html {
  return html`<p class="error">${error}</p>`;
}

/** The product fields most people look for first; the whole record is one click away. */
const OKKI_HEAD = ['product_id', 'product_no', 'name', 'model', 'group_id', 'product_type', 'update_time', 'create_time', 'enable_flag', 'disable_flag'];

function okkiPart(l: ProductLookup): Html {
  if (!l.okki.ok) return failed(l.okki.error);
  const p = l.okki.value;
  if (!p) return html`<p class="warn" id="okki-missing">${bi('OKKI 中没有这个产品编号。', 'OKKI has no product with this number.')}</p>`;
  const rows = OKKI_HEAD.filter((k) => k in p).map((k) => html`<tr><th>${k}</th><td>${cell(p[k])}</td></tr>`);
  return html`<div class="table-wrap"><table id="okki"><tbody>${rows}</tbody></table></div>
<details><summary>${bi('完整记录', 'Full record')}</summary><pre>${JSON.stringify(p, null, 2)}</pre></details>`;
}

function mappedPart(l: ProductLookup): Html {
  if (!l.mapped) return html`<p class="muted">—</p>`;
  if (!l.mapped.ok) return html`<p class="error" id="mapped-rejected"><code>${l.mapped.rejected.code}</code> ${l.mapped.rejected.reason}</p>`;
  return html`<p class="muted">hash <code>${l.mapped.hash.slice(0, 16)}</code></p>`;
}

function ledgerPart(l: ProductLookup, timezone: string): Html {
  if (!l.ledger.ok) return failed(l.ledger.error);
  const e = l.ledger.value;
  if (!e) return html`<p class="muted" id="ledger-none">${bi('台账中没有记录：下次运行会按新产品处理（先查询宜搭再新建）。', 'No ledger entry: the next run treats it as new (searching Yida before creating).')}</p>`;
  return html`<dl id="ledger"><dt>${bi('状态', 'state')}</dt><dd>${e.state === 'done' ? html`<span class="ok">done</span>` : html`<span class="warn">pending</span>${e.op ? ` (${e.op})` : ''}`}</dd>
<dt>${bi('实例 ID', 'instance id')}</dt><dd><code>${e.instanceId ?? '—'}</code></dd>
<dt>hash</dt><dd><code>${e.hash.slice(0, 16) || '—'}</code></dd>
<dt>${bi('最后同步', 'last synced')}</dt><dd>${formatInstant(e.syncedAt, timezone)}</dd></dl>
${l.inStep === true ? html`<p class="ok">${bi('与当前映射一致：下次运行不会写入。', 'Matches today’s mapping: the next run will not write it.')}</p>`
    : l.inStep === false ? html`<p class="warn">${bi('与当前映射不同：下次运行会写入。', 'Differs from today’s mapping: the next run will write it.')}</p>` : ''}`;
}

function yidaPart(l: ProductLookup, timezone: string): Html {
  if (!l.yida.ok) return failed(l.yida.error);
  const list = l.yida.value;
  if (!list.length) return html`<p class="warn" id="yida-none">${bi('宜搭中没有这个产品编号的实例。', 'Yida holds no instance with this product number.')}</p>`;
  const dup = list.length > 1 ? html`<p class="error">${bi(`宜搭中有 ${list.length} 个实例持有这个编号（重复）。`, `${list.length} Yida instances hold this number (duplicates).`)}</p>` : '';
  return html`${dup}<ul id="yida">${list.map((i) => html`<li><code>${i.instanceId}</code> · ${bi('修改于', 'modified')} ${formatInstant(i.modifiedAt, timezone)}${i.status ? ` · ${i.status}` : ''}</li>`)}</ul>`;
}

function diffPart(l: ProductLookup): Html {
  if (!l.diff) return html``;
  const differing = l.diff.filter((r) => !r.same).length;
  const rows = l.diff.map((r) => html`<tr class="${r.same ? 'diff-same' : 'diff-no'}"><td>${r.label}<br><code class="muted">${r.field}</code></td><td>${cell(r.mapped)}</td><td>${cell(r.yida)}</td><td>${r.same ? html`<span class="ok">=</span>` : html`<span class="bad">≠</span>`}</td></tr>`);
  return html`<h2>${bi('映射值与宜搭现状', 'Mapped values vs. Yida now')}</h2>
<p id="diff-summary" class="${differing ? 'warn' : 'ok'}">${differing ? bi(`${differing} 个字段不同`, `${differing} field(s) differ`) : bi('全部一致', 'all fields match')}</p>
<div class="table-wrap"><table id="diff"><thead><tr><th>${bi('字段', 'Field')}</th><th>${bi('映射值（OKKI）', 'Mapped (OKKI)')}</th><th>${bi('宜搭现值', 'Yida now')}</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

export function renderProductPage(d: ProductPageData): string {
  const l = d.lookup;
  const form = html`<form class="inline" method="get" action="/console/products"><label for="no">${bi('产品编号', 'Product number')}</label>
<input type="search" id="no" name="no" value="${d.query ?? ''}" maxlength="64" required autocomplete="off"><button class="secondary" type="submit" id="lookup">${bi('查询', 'Look up')}</button></form>`;
  const result = l ? html`<h2>${bi('产品', 'Product')} <code id="product-no">${l.productNo}</code></h2>
<form class="actions" method="post" action="/console/products/sync">${csrfField(d.csrf)}<input type="hidden" name="no" value="${l.productNo}"><button class="primary" type="submit" id="sync-product">${bi('立即同步此产品', 'Sync this product now')}</button></form>
<div class="grid"><section class="card"><h2>OKKI</h2>${okkiPart(l)}</section><section class="card"><h2>${bi('映射结果', 'Mapped')}</h2>${mappedPart(l)}</section>
<section class="card"><h2>${bi('台账', 'Ledger')}</h2>${ledgerPart(l, d.timezone)}</section><section class="card"><h2>${bi('宜搭', 'Yida')}</h2>${yidaPart(l, d.timezone)}</section></div>
${diffPart(l)}` : '';
  const body = html`<h1>${bi('产品查询', 'Product lookup')}</h1>${form}${d.problem ? html`<p class="error">${d.problem}</p>` : ''}${result}`;
  return page({ title: '产品 Product', csrf: d.csrf, sandbox: d.sandbox, current: 'products', notice: d.notice }, body);
}
