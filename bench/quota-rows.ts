/** The quota rows of the results table (issue 13): targets side by side, OKKI calls, robot messages on a quiet day. */
import { targetRun, robotDay, type TargetFigures, type Target } from './quota.js';
import { fmt, type Row } from './report.js';

type MeasureId = 'quota-targets' | 'quota-okki' | 'quota-robot';

export interface QuotaContext {
  step(item: MeasureId, measure: string, fn: () => Promise<void>): Promise<void>;
  rows: Row[];
  detail(title: string, obj: unknown): void;
  /** catalogue size, shrunk by --quick */
  S(n: number): number;
  quick: boolean;
}

const LIMIT = 20;
const DEFAULT_OKKI_QPS = 5;
const FORM_CALLS_TARGET = 12;
const OKKI_CALLS_TARGET = 40;
const SPEED_RATIO_TARGET = 40;

const apiList = (byApi: Record<string, number>) => Object.entries(byApi).map(([k, v]) => `${k} ${v}`).join(', ');

function targetRow(f: TargetFigures): Row {
  const callsOk = f.target === 'process' || f.meteredPer1000 <= FORM_CALLS_TARGET;
  const met = callsOk && f.unchanged.metered === 0 && f.failures === 0;
  return {
    item: 'quota-targets',
    measure: `YIDA_TARGET=${f.target}, ${f.mapping} mapping: backfill of ${fmt.int(f.products)} products into an empty form, ${f.limit} req/s per API (every Yida API and OKKI list/info), then the same full run with nothing changed`,
    figures: `${fmt.n(f.productsPerSecond)} products/s in ${fmt.n(f.seconds)} s = ${fmt.pct(f.fractionOfBound)} of bound ${fmt.n(f.bound)}/s (bound by ${f.binds}); metered DingTalk calls ${f.metered} = ${fmt.n(f.meteredPer1000)} per 1,000 products (${apiList(f.meteredByApi)}); throttled ${f.throttled}; OKKI calls ${f.okkiCalls} = ${fmt.n(f.okkiPer1000)} per 1,000 (${apiList(f.okkiByEndpoint)}); unchanged run: ${f.unchanged.metered} metered calls in ${fmt.n(f.unchanged.seconds)} s (${f.unchanged.status}); status ${f.status}, failures ${f.failures}`,
    target: f.target === 'form' ? `≤ ${FORM_CALLS_TARGET} metered calls per 1,000 products; unchanged run 0` : 'unchanged run 0',
    verdict: met ? 'met' : 'MISSED',
    note: `bound = products ÷ the longest any one limited API needs for its calls at ${f.limit}/s (each API is limited on its own; OKKI's calls share OKKI_QPS=${f.okkiQps}). `
      + (f.target === 'form'
        ? 'The form target writes 100 records per batchSaveFormData; the new ids are read back (batchGetFormDataByIdList) until three batches came back in input order, then on every 20th; one key scan before the backfill (adoption).'
        : 'The process target is one startInstance per product: L products per second at most.'),
  };
}

export async function quotaMeasures(ctx: QuotaContext): Promise<void> {
  const { step, rows, detail, S } = ctx;

  await step('quota-targets', 'targets side by side', async () => {
    const n = S(10_000);
    for (const mappingFile of ['bench/mapping-list-only.json', undefined]) {
      const figs: Partial<Record<Target, TargetFigures>> = {};
      for (const target of ['process', 'form'] as const) {
        const f = await targetRun({ target, mappingFile, products: n, limit: LIMIT, okkiQps: LIMIT });
        figs[target] = f;
        rows.push(targetRow(f));
        detail(`quota-targets: ${target}, ${f.mapping} mapping`, f);
      }
      const { process: p, form } = figs;
      if (p && form) {
        const ratio = form.productsPerSecond / p.productsPerSecond;
        const listOnly = mappingFile !== undefined;
        rows.push({
          item: 'quota-targets', measure: `Form vs process, ${form.mapping} mapping: products/s ratio on the same catalogue and limits`,
          figures: `form ${fmt.n(form.productsPerSecond)} / process ${fmt.n(p.productsPerSecond)} products/s = ${fmt.n(ratio)}×; metered calls per 1,000 products: form ${fmt.n(form.meteredPer1000)}, process ${fmt.n(p.meteredPer1000)}`,
          target: listOnly ? `≥ ${SPEED_RATIO_TARGET}×` : 'reported', verdict: listOnly ? (ratio >= SPEED_RATIO_TARGET ? 'met' : 'MISSED') : 'n/a',
          note: `process is bound by startInstance at ${LIMIT}/s; form by ${form.binds}`,
        });
      }
    }
  });

  await step('quota-okki', 'OKKI calls with the shipped mapping', async () => {
    const n = S(10_000);
    const f = await targetRun({ target: 'form', products: n, limit: LIMIT, okkiQps: DEFAULT_OKKI_QPS });
    detail('quota-okki: shipped mapping at the default OKKI_QPS', f);
    // the behaviour before the typed passes: a server that ignores the product_type filter makes the connector fall
    // back to exactly that (one /v1/product/info call per product), measured on a smaller catalogue at a high rate
    const m = S(1000);
    const old = await targetRun({ target: 'form', products: m, limit: 200, okkiQps: 200, okkiKnobs: { productTypeFilter: 'ignore' } });
    detail('quota-okki: one info call per product (filter ignored), for comparison', old);
    const oldSeconds10k = ((old.okkiPer1000 / 1000) * n) / DEFAULT_OKKI_QPS;
    rows.push({
      item: 'quota-okki', measure: `OKKI calls with the shipped mapping (product_type), ${fmt.int(n)}-product backfill at the default OKKI_QPS=${DEFAULT_OKKI_QPS}, form target, ${LIMIT} req/s per Yida API`,
      figures: `${fmt.n(f.okkiPer1000)} OKKI calls per 1,000 products (${apiList(f.okkiByEndpoint)}); backfill ${fmt.n(f.seconds)} s (${fmt.n(f.productsPerSecond)} products/s, bound by ${f.binds}). Before (one /v1/product/info per product, measured on ${fmt.int(m)} products with a server ignoring the filter): ${fmt.n(old.okkiPer1000)} per 1,000 (${apiList(old.okkiByEndpoint)}), i.e. ${fmt.n(oldSeconds10k / 60)} min for ${fmt.int(n)} products at OKKI_QPS=${DEFAULT_OKKI_QPS}`,
      target: `≤ ${OKKI_CALLS_TARGET} per 1,000 products`, verdict: f.okkiPer1000 <= OKKI_CALLS_TARGET && f.failures === 0 ? 'met' : 'MISSED',
      note: 'three typed list passes (product_type 1, 2, 3) plus one untyped first page (the window total); the time is OKKI_QPS-bound: (groups + list pages) ÷ OKKI_QPS',
    });
  });

  await step('quota-robot', 'robot messages on a quiet day', async () => {
    const f = await robotDay({ products: S(1000), runs: 144 });
    detail('quota-robot', f);
    rows.push({
      item: 'quota-robot', measure: `Robot messages on a day of unchanged scheduled runs at the defaults (SYNC_CRON every 10 min = ${f.runs} runs, ROBOT_REPORT=changes), after a ${fmt.int(S(1000))}-product backfill`,
      figures: `${f.messagesDay} messages for the ${f.runs} runs (${Object.entries(f.skipped).map(([k, v]) => `${k} ×${v}`).join(', ')}); the backfill itself: ${f.messagesBackfill} message; ${fmt.n(f.seconds)} s`,
      target: '0', verdict: f.messagesDay === 0 ? 'met' : 'MISSED',
      note: `with ROBOT_REPORT=every the same day would send ${f.runs} messages: ${fmt.int(f.runs * 30)} a month, over the standard edition's 3,000`,
    });
  });
}
