/**
 * The mirror's part of a run report (Chinese, DingTalk markdown): gone products and what was done about them, a
 * guarded deletion (how many, and the call that confirms it), a sweep's read, an audit's findings and repairs.
 */
import type { ProductList, RunRecord } from '../core/index.js';
import { escapeMarkdown } from './report.js';

const SHOWN = 10;

function nos(list: ProductList): string {
  if (!list.count) return '';
  const shown = list.product_nos.slice(0, SHOWN).map((p) => (p ? escapeMarkdown(p, 60) : '（无编号）')).join('、');
  return `：${shown}${list.count > SHOWN ? ` 等 ${list.count} 个` : ''}`;
}

/** `删除 **2** · 标记 **1**` when the run dealt with gone products; '' otherwise. */
export function goneCountsText(run: RunRecord): string {
  const c = run.counts;
  if (c.deleted === undefined && c.marked === undefined) return '';
  return ` · 删除 **${c.deleted ?? 0}** · 标记 **${c.marked ?? 0}**`;
}

export function mirrorLines(run: RunRecord): string[] {
  const lines: string[] = [];
  const s = run.sweep;
  if (s) {
    lines.push(s.complete
      ? `- **全量核对**：OKKI 共列出 ${s.listed} 个产品（已完整读取），账本中 ${s.candidates} 个不在列表中或已标记删除`
      : `- **全量核对**：未能完整读取 OKKI 产品列表（已读 ${s.listed} 个），**未标记或删除任何产品**`);
  }
  const g = run.gone;
  if (g && (g.found.count || g.guarded)) {
    const done = [`标记 ${g.marked}`, `删除 ${g.deleted}`, ...(g.kept ? [`保留 ${g.kept}（SYNC_DELETIONS=off）`] : [])].join(' · ');
    lines.push(`- **OKKI 已删除/停售的产品**：${g.found.count} 个（${done}）${nos(g.found)}`);
  }
  if (g?.guarded) {
    const q = g.guarded;
    lines.push('', `> ⚠️ **删除保护**：本次有 **${q.count}** 个产品需要标记或删除，超过上限 SYNC_DELETE_MAX=${q.max}，**未做任何标记或删除**。核实无误后，向 /webhooks/yida/sync 发送 \`${q.confirm}\` 执行。`);
    if (q.sampled) {
      lines.push(q.sampled.stillInOkki
        ? `> 抽查 ${q.sampled.checked} 个，其中 **${q.sampled.stillInOkki} 个在 OKKI 中仍然存在**：OKKI 返回的列表很可能不完整，请勿确认。`
        : `> 抽查 ${q.sampled.checked} 个，在 OKKI 中均已不存在。`);
    }
    lines.push('');
  }
  if (s?.stillInOkki?.count) {
    lines.push('', `> ⚠️ **OKKI 列表不完整**：${s.stillInOkki.count} 个未出现在列表中的产品在 OKKI 中仍然存在，已保留未动${nos(s.stillInOkki)}`, '');
  }
  const a = run.audit;
  if (a) {
    lines.push(`- **核对**：宜搭实例 ${a.instances} 个 · OKKI 现有产品 ${a.products} 个`);
    lines.push(`  - 缺失（OKKI 有、宜搭无）**${a.missing.count}**${nos(a.missing)}`);
    lines.push(`  - 重复（一个编号多条实例）**${a.duplicates.count}**${nos(a.duplicates)}`);
    lines.push(`  - 不一致（宜搭值与 OKKI 不同）**${a.stale.count}**${nos(a.stale)}`);
    lines.push(`  - 孤立（宜搭有、OKKI 无）**${a.orphans.count}**${nos(a.orphans)}`);
    const r = a.repaired;
    if (r) {
      lines.push(`- **修复**：新增 ${r.created} · 更新 ${r.updated} · 删除重复 ${r.duplicatesRemoved} · 孤立标记 ${r.orphansMarked} · 孤立删除 ${r.orphansDeleted} · 失败 ${r.failed}`);
    } else if (a.missing.count + a.duplicates.count + a.stale.count + a.orphans.count > 0) {
      lines.push('- 修复：向 /webhooks/yida/sync 发送 `{"mode":"audit","repair":true}`');
    }
  }
  return lines;
}
