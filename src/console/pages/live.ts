/** The live progress block of a running run (overview and run page), filled in later by the page script's SSE. */
import type { ProgressView } from '../progress.js';
import { bi, formatRate, formatSpan, html, type Html } from './html.js';

export function liveBlock(view: ProgressView, opts: { link?: boolean } = {}): Html {
  const events = `/console/runs/${encodeURIComponent(view.runId)}/events`;
  const bar = view.total
    ? html`<progress max="${view.total}" value="${view.settled}" aria-label="进度 progress"></progress>`
    : html`<progress aria-label="进度 progress"></progress>`;
  return html`<section class="card live" id="live" data-live-run="${view.runId}" data-events="${events}" data-status="${view.status}">
<h2>${bi('运行进度', 'Live progress')}${opts.link ? html` · <a href="/console/runs/${encodeURIComponent(view.runId)}">${view.runId}</a>` : ''}</h2>
${bar}
<p><strong data-k="settled">${view.settled}</strong> / <strong data-k="total">${view.total ?? '?'}</strong> ${bi('已处理', 'done')}
 · ${bi('已读取', 'read')} <span data-k="read">${view.read}</span>
 · ${bi('已写入', 'written')} <span data-k="written">${view.written}</span>
 · ${bi('拒绝', 'rejected')} <span data-k="rejected">${view.counts.rejected}</span>
 · ${bi('失败', 'failed')} <span data-k="failed">${view.counts.failed}</span></p>
<p>${bi('速度', 'rate')} <span data-k="rate">${formatRate(view.rate)}</span> ${bi('条/秒', '/s')}
 · ${bi('预计剩余', 'time left')} <span data-k="eta">${formatSpan(view.etaMs)}</span></p>
<noscript><p class="muted">${bi('未启用脚本：请刷新页面查看进度。', 'Scripts are off: reload the page to see progress.')}</p></noscript>
</section>`;
}
