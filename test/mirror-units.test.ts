/**
 * The mirror's parts on their own: the ledger scan (sqlite and Redis, memory one page), the gone actor's exactly-once
 * steps and its guard (a recording sink), OKKI's flags, the onDelete mapping, the unwindowed pull, config and the
 * webhook body's new fields.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStores } from '../src/store/index.js';
import type { LedgerEntry, Stores } from '../src/store/types.js';
import { GoneActor, flaggedGone, MARKED_HASH } from '../src/sync/gone.js';
import { askOkki } from '../src/sync/verify.js';
import { parseMapping } from '../src/mapping/index.js';
import { buildGroupTree } from '../src/okki/groups.js';
import { pullWindow, splitSpan } from '../src/okki/pull.js';
import { silentLogger } from '../src/log.js';
import { loadConfig } from '../src/config.js';
import { parseWebhookBody } from '../src/http/webhook-body.js';
import { WriteAmbiguousError, type MirrorPolicy, type ProductSink } from '../src/core/index.js';
import { redisAvailable, startRedis, type RedisHandle } from './helpers/redis.js';
import { renderRunReport } from '../src/robot/report.js';
import type { RunRecord } from '../src/core/index.js';

const done = (instanceId?: string, extra: Partial<LedgerEntry> = {}): LedgerEntry => ({ hash: 'h', state: 'done', instanceId, syncedAt: new Date().toISOString(), ...extra });

/** A sink that records what it was asked and holds instances by key; failures can be planted per call. */
class RecordingSink implements ProductSink {
  readonly calls: string[] = [];
  readonly byKey = new Map<string, string[]>();
  readonly data = new Map<string, Record<string, unknown>>();
  failRemove?: (id: string) => Error | undefined;
  async create(): Promise<string> { throw new Error('not used'); }
  async update(id: string, formData: Record<string, unknown>): Promise<void> { this.calls.push(`update ${id}`); this.data.set(id, { ...this.data.get(id), ...formData }); }
  async findByKey(_f: string, value: string): Promise<string[]> { this.calls.push(`find ${value}`); return [...(this.byKey.get(value) ?? [])]; }
  async remove(id: string): Promise<void> {
    this.calls.push(`remove ${id}`);
    const err = this.failRemove?.(id);
    if (err) throw err;
    for (const [k, ids] of this.byKey) this.byKey.set(k, ids.filter((x) => x !== id));
  }
}

const MAPPING = parseMapping({
  request: [{ field: 'textField_no', label: '编号', value: '{product_no}' }, { field: 'textField_name', label: '名称', value: '{name}' }],
  onDelete: [{ field: 'selectField_status', label: '状态', value: '已停用' }, { field: 'textField_name', label: '名称', value: '（已删除）{name}' }],
});
const ctx = { groups: buildGroupTree([]), now: new Date('2025-06-01T00:00:00Z'), timezone: 'Asia/Shanghai' };

describe('mirror units', () => {
  describe('ledger scan', () => {
    const check = async (stores: Stores) => {
      for (let i = 0; i < 1234; i++) await stores.ledger.set(`P-${String(i).padStart(5, '0')}`, done(`id-${i}`));
      await stores.cursor.set(new Date());
      const seen = new Set<string>();
      let pages = 0; let largest = 0;
      for await (const page of stores.scanLedger(500)) {
        pages++; largest = Math.max(largest, page.length);
        for (const [no, e] of page) { seen.add(no); expect(e.state).to.equal('done'); }
      }
      expect(seen.size).to.equal(1234);
      expect([...seen].every((k) => k.startsWith('P-'))).to.equal(true);
      expect(pages).to.be.greaterThan(1);
      return largest;
    };

    it('sqlite: every entry once, in pages of at most the page size, nothing but ledger entries', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'scan-'));
      const stores = await createStores({ url: `sqlite://${join(dir, 's.sqlite')}`, kind: 'sqlite', sqlitePath: join(dir, 's.sqlite') });
      try { expect(await check(stores)).to.be.at.most(500); } finally { await stores.close(); rmSync(dir, { recursive: true, force: true }); }
    });

    describe('redis', () => {
      let redis: RedisHandle | undefined;
      before(async function () { if (!redisAvailable()) this.skip(); redis = await startRedis(); });
      after(async () => { await redis?.stop().catch(() => undefined); });
      it('redis: every entry (SCAN may repeat a key: read as a set), nothing but ledger entries', async () => {
        const stores = await createStores({ url: redis!.url, kind: 'redis' });
        try { await check(stores); } finally { await stores.close(); }
      });
    });
  });

  describe('which product a key stands for (a transformed key field)', () => {
    const SKU_MAPPING = parseMapping({
      keyField: 'textField_no',
      request: [{ field: 'textField_no', label: '编号', value: 'SKU-{product_no}' }, { field: 'textField_name', label: '名称', value: '{name}' }],
    });
    const actorOf = (mapping: typeof MAPPING) => new GoneActor({
      ledger: undefined as never, sink: new RecordingSink(), mapping, keyField: 'textField_no', policy: { deletions: 'delete', discontinued: 'keep', deleteMax: 20 },
    });

    it('the key of a product is the key field\'s value, evaluated from what is known (a number alone is enough)', () => {
      expect(SKU_MAPPING.keyOf({ product_no: 'P-1' }, ctx)).to.equal('SKU-P-1');
      expect(MAPPING.keyOf({ product_no: 'P-1' }, ctx)).to.equal('P-1');
      expect(SKU_MAPPING.keyOf({ name: 'no number' }, ctx), 'a key its template cannot fill is no key').to.equal(undefined);
      expect(MAPPING.keyOf({ name: 'no number' }, ctx)).to.equal(undefined);
      expect(MAPPING.keyIsProductNo()).to.equal(true);
      expect(SKU_MAPPING.keyIsProductNo()).to.equal(false);
    });

    it('a ledger key stands for the number its entry kept, the key itself only when the key field holds the number, and the OKKI id', () => {
      const sku = actorOf(SKU_MAPPING);
      const plain = actorOf(MAPPING);
      expect(sku.ownerOf('SKU-P-1', done('i', { productNo: 'P-1', productId: '7' }))).to.deep.equal({ productNo: 'P-1', productId: '7' });
      expect(sku.ownerOf('SKU-P-1', done('i', { productId: '7' })), 'never the SKU key as a number').to.deep.equal({ productId: '7' });
      expect(sku.ownerOf('SKU-P-1', undefined)).to.deep.equal({});
      expect(plain.ownerOf('P-1', undefined)).to.deep.equal({ productNo: 'P-1' });
      expect(plain.ownerOf('P-1', done('i', { productId: '7' }))).to.deep.equal({ productNo: 'P-1', productId: '7' });
    });

    it('proof asks OKKI by number, else by id, and never about a key it cannot tie to a product', async () => {
      const asked: string[] = [];
      const source = {
        async *byProductNos(nos: readonly string[]) {
          asked.push(...nos.map((n) => `no ${n}`));
          yield { index: 1, items: nos.filter((n) => n === 'P-ALIVE').map((n) => ({ product_no: n, product_id: 1 })), rejected: nos.filter((n) => n !== 'P-ALIVE').map((n) => ({ product_no: n, code: 'OKKI_NOT_FOUND', reason: 'not found' })) };
        },
        async *byProductIds(ids: readonly number[]) {
          asked.push(...ids.map((i) => `id ${i}`));
          yield { index: 1, items: [], rejected: ids.map((i) => ({ product_no: null, product_id: i, code: 'OKKI_NOT_FOUND', reason: 'not found' })) };
        },
        pages() { throw new Error('not used'); }, formatTime: () => '',
      };
      const v = await askOkki(source as never, actorOf(SKU_MAPPING), [
        { key: 'SKU-P-GONE', productNo: 'P-GONE', productId: '5' }, { key: 'SKU-P-ALIVE', productNo: 'P-ALIVE' },
        { key: 'SKU-OLD', productId: '9' }, { key: 'SKU-HAND' },
      ], new AbortController().signal);
      expect(asked.sort()).to.deep.equal(['id 9', 'no P-ALIVE', 'no P-GONE']);
      expect(v.gone.map((t) => [t.productNo, t.key])).to.deep.equal([['P-GONE', 'SKU-P-GONE'], ['SKU-OLD', 'SKU-OLD']]);
      expect(v.alive).to.deep.equal(['P-ALIVE']);
      expect(v.unknown.map((u) => [u.productNo, u.code])).to.deep.equal([['SKU-HAND', 'GONE_UNPROVEN']]);
      const noIds = await askOkki({ ...source, byProductIds: undefined } as never, actorOf(SKU_MAPPING), [{ key: 'SKU-OLD', productId: '9' }], new AbortController().signal);
      expect(noIds.unknown.map((u) => u.code), 'a source that cannot look up ids proves nothing by id').to.deep.equal(['GONE_UNPROVEN']);
    });

    it('a product OKKI still has under another key today (renumbered, or the key template changed) leaves its old key gone', async () => {
      const source = {
        async *byProductNos(nos: readonly string[]) { yield { index: 1, items: nos.map((n) => ({ product_no: n, product_id: 1 })), rejected: [] }; },
        pages() { throw new Error('not used'); }, formatTime: () => '',
      };
      const candidates = [{ key: 'OLD-P-1', productNo: 'P-1' }, { key: 'SKU-P-2', productNo: 'P-2' }];
      const v = await askOkki(source as never, actorOf(SKU_MAPPING), candidates, new AbortController().signal, ctx);
      expect(v.gone.map((t) => [t.productNo, t.key, t.reason])).to.deep.equal([['P-1', 'OLD-P-1', 'unlisted']]);
      expect(v.alive, 'the same key today: still there (a short list)').to.deep.equal(['P-2']);
      const blind = await askOkki(source as never, actorOf(SKU_MAPPING), candidates, new AbortController().signal);
      expect(blind.alive, 'without a mapping context nothing is judged by its key').to.deep.equal(['P-1', 'P-2']);
    });

    it('the actor leaves a key alone whose entry says it belongs to another product number', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'gone-owner-'));
      const stores = await createStores({ url: `sqlite://${join(dir, 's.sqlite')}`, kind: 'sqlite', sqlitePath: join(dir, 's.sqlite') });
      try {
        const sink = new RecordingSink();
        await stores.ledger.set('SKU-1', done('i-1', { productNo: '1' }));
        sink.byKey.set('SKU-1', ['i-1']);
        const actor = new GoneActor({ ledger: stores.ledger, sink, mapping: SKU_MAPPING, keyField: 'textField_no', policy: { deletions: 'delete', discontinued: 'keep', deleteMax: 20 } });
        const other = await actor.act([{ productNo: '2', key: 'SKU-1', reason: 'push' }], { guard: true, ctx });
        expect(other.deleted).to.equal(0);
        expect(sink.calls).to.deep.equal([]);
        const own = await actor.act([{ productNo: '1', key: 'SKU-1', reason: 'push' }], { guard: true, ctx });
        expect(own.deleted).to.equal(1);
        expect(await stores.ledger.get('SKU-1'), 'the entry still says whose it was').to.include({ gone: 'deleted', productNo: '1' });
      } finally { await stores.close(); rmSync(dir, { recursive: true, force: true }); }
    });
  });

  describe('gone actor', () => {
    let dir: string; let stores: Stores; let sink: RecordingSink;
    const actor = (policy: Partial<MirrorPolicy> = {}) => new GoneActor({
      ledger: stores.ledger, sink, mapping: MAPPING, keyField: 'textField_no', logger: silentLogger,
      policy: { deletions: 'delete', discontinued: 'keep', deleteMax: 20, ...policy },
    });
    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gone-'));
      stores = await createStores({ url: `sqlite://${join(dir, 's.sqlite')}`, kind: 'sqlite', sqlitePath: join(dir, 's.sqlite') });
      sink = new RecordingSink();
    });
    afterEach(async () => { await stores.close(); rmSync(dir, { recursive: true, force: true }); });

    it('delete: pending → remove → done(gone:deleted); a second act does nothing', async () => {
      await stores.ledger.set('P-1', done('i-1'));
      sink.byKey.set('P-1', ['i-1']);
      const r = await actor().act([{ productNo: 'P-1', reason: 'deleted' }], { guard: true, ctx });
      expect(r).to.deep.include({ deleted: 1, marked: 0, guarded: false, failures: [] });
      expect(sink.calls).to.deep.equal(['remove i-1']);
      expect(await stores.ledger.get('P-1')).to.include({ state: 'done', gone: 'deleted' }).and.not.have.property('instanceId');
      const again = await actor().act([{ productNo: 'P-1', reason: 'deleted' }], { guard: true, ctx });
      expect(again.due).to.deep.equal([]);
      expect(sink.calls).to.have.length(1);
    });

    it('a removal whose answer is lost stays pending; the next act settles it by an exact search, removing every instance of the key', async () => {
      await stores.ledger.set('P-2', done('i-2'));
      sink.byKey.set('P-2', ['i-2']);
      sink.failRemove = () => new WriteAmbiguousError('lost answer');
      const r = await actor().act([{ productNo: 'P-2', reason: 'unlisted' }], { guard: true, ctx });
      expect(r.failures.map((f) => f.code)).to.deep.equal(['YIDA_WRITE_AMBIGUOUS']);
      expect(await stores.ledger.get('P-2')).to.include({ state: 'pending', op: 'remove' });
      // meanwhile someone duplicated it: the settle removes both, whatever the ledger said
      sink.byKey.set('P-2', ['i-2', 'i-2b']);
      sink.failRemove = undefined;
      const again = await actor().act([{ productNo: 'P-2', reason: 'unlisted' }], { guard: true, ctx });
      expect(again.deleted).to.equal(1);
      expect(sink.calls.slice(1)).to.deep.equal(['find P-2', 'remove i-2', 'remove i-2b']);
      expect(sink.byKey.get('P-2')).to.deep.equal([]);
      expect(await stores.ledger.get('P-2')).to.include({ state: 'done', gone: 'deleted' });
    });

    it('mark: writes the onDelete entries (templates read the product), keeps the instance, records gone:marked', async () => {
      await stores.ledger.set('P-3', done('i-3'));
      const r = await actor({ deletions: 'mark' }).act([{ productNo: 'P-3', reason: 'deleted', product: { product_no: 'P-3', name: '旧名' } }], { guard: true, ctx });
      expect(r.marked).to.equal(1);
      expect(sink.data.get('i-3')).to.deep.equal({ selectField_status: '已停用', textField_name: '（已删除）旧名' });
      expect(await stores.ledger.get('P-3')).to.include({ state: 'done', gone: 'marked', instanceId: 'i-3', hash: MARKED_HASH });
      // SYNC_DELETIONS changed to delete later: a marked product is then removed
      sink.byKey.set('P-3', ['i-3']);
      const del = await actor().act([{ productNo: 'P-3', reason: 'unlisted' }], { guard: true, ctx });
      expect(del.deleted).to.equal(1);
    });

    it('guard: more due than SYNC_DELETE_MAX → nothing called; off → kept; unknown products are not due', async () => {
      for (let i = 0; i < 4; i++) await stores.ledger.set(`G-${i}`, done(`g-${i}`));
      const targets = [0, 1, 2, 3, 4].map((i) => ({ productNo: `G-${i}`, reason: 'deleted' as const }));
      const guarded = await actor({ deleteMax: 3 }).act(targets, { guard: true, ctx });
      expect(guarded).to.deep.include({ guarded: true, deleted: 0 });
      expect(guarded.found).to.have.length(5);
      expect(guarded.due).to.deep.equal(['G-0', 'G-1', 'G-2', 'G-3']);
      expect(sink.calls).to.deep.equal([]);
      const off = await actor({ deletions: 'off' }).act(targets, { guard: true, ctx });
      expect(off).to.deep.include({ kept: 4, deleted: 0, guarded: false });
      expect(sink.calls).to.deep.equal([]);
      const confirmed = await actor({ deleteMax: 3 }).act(targets, { guard: false, ctx });
      expect(confirmed.deleted).to.equal(4);
    });

    it('refuses a policy it cannot carry out', () => {
      const noMarks = parseMapping({ request: [{ field: 'textField_no', label: '编号', value: '{product_no}' }] });
      expect(() => new GoneActor({ ledger: stores.ledger, sink, mapping: noMarks, keyField: 'textField_no', policy: { deletions: 'mark', discontinued: 'keep', deleteMax: 1 } })).to.throw(/onDelete/);
      const { remove: _r, ...cannotRemove } = sink;
      void _r;
      expect(() => new GoneActor({ ledger: stores.ledger, sink: { ...cannotRemove, create: sink.create, update: sink.update, findByKey: sink.findByKey }, mapping: MAPPING, keyField: 'textField_no', policy: { deletions: 'delete', discontinued: 'keep', deleteMax: 1 } })).to.throw(/remove/);
    });
  });

  describe('OKKI flags', () => {
    it('enable_flag 0 (number or string) is deleted; disable_flag 0 is gone only with SYNC_DISCONTINUED=gone; absent is normal', () => {
      expect(flaggedGone({ enable_flag: 0 }, { discontinued: 'keep' })).to.equal('deleted');
      expect(flaggedGone({ enable_flag: '0' }, { discontinued: 'keep' })).to.equal('deleted');
      expect(flaggedGone({ enable_flag: 1, disable_flag: 0 }, { discontinued: 'keep' })).to.equal(undefined);
      expect(flaggedGone({ disable_flag: ' 0 ' }, { discontinued: 'gone' })).to.equal('discontinued');
      expect(flaggedGone({}, { discontinued: 'gone' })).to.equal(undefined);
      expect(flaggedGone({ enable_flag: null, disable_flag: '' }, { discontinued: 'gone' })).to.equal(undefined);
    });
  });

  describe('onDelete in the mapping', () => {
    it('markData evaluates the entries; clearMarks empties those no request entry writes', () => {
      // a template whose field the product lacks is empty, like in request
      expect(MAPPING.markData({ product_no: 'P-1' }, ctx)).to.deep.equal({ selectField_status: '已停用', textField_name: null });
      expect(MAPPING.onDeleteFields()).to.deep.equal(['selectField_status', 'textField_name']);
      expect(MAPPING.clearMarks()).to.deep.equal({ selectField_status: '' });
      expect(MAPPING.requestFields()).to.deep.equal(['textField_no', 'textField_name']);
      expect(parseMapping({ request: [{ field: 'textField_no', label: '编号', value: '{product_no}' }] }).markData({ product_no: 'P' }, ctx)).to.equal(undefined);
    });

    it('refuses an onDelete that is not a list, that writes the key, or has a bad entry, naming it', () => {
      const base = [{ field: 'textField_no', label: '编号', value: '{product_no}' }];
      expect(() => parseMapping({ request: base, onDelete: {} })).to.throw(/onDelete: expected an array/);
      expect(() => parseMapping({ request: base, onDelete: [{ field: 'textField_no', label: 'x', value: 'gone' }] })).to.throw(/onDelete\[0\].*must not write the key field/);
      expect(() => parseMapping({ request: base, onDelete: [{ field: 'selectField_s', label: '状态', value: '{unclosed' }] })).to.throw(/onDelete\[0\] "状态" \(selectField_s\): value/);
    });
  });

  describe('the unwindowed pull', () => {
    it('sends neither start_time nor end_time, and splits an open-ended span when the list shifts', async () => {
      const asked: Array<[number | undefined, number | undefined]> = [];
      const rows = Array.from({ length: 7 }, (_, i) => ({ product_id: i + 1, update_time: 1000 + i }));
      let first = true;
      const out: unknown[] = [];
      for await (const page of pullWindow({
        pageSize: 5, maxPasses: 5, logger: silentLogger, updateSeconds: (r) => (r as { update_time: number }).update_time,
        list: async (lo, hi, index, count) => {
          asked.push([lo, hi]);
          // the first unwindowed read loses a row (count says 7, 6 are served): the pull must re-read in pieces
          const inWin = rows.filter((r) => (lo === undefined || r.update_time >= lo) && (hi === undefined || r.update_time <= hi));
          const served = first && lo === undefined && hi === undefined ? inWin.filter((r) => r.product_id !== 6) : inWin;
          if (index * count >= served.length && lo === undefined && hi === undefined) first = false;
          return { count: inWin.length, list: served.slice((index - 1) * count, index * count) };
        },
      })) out.push(...page);
      expect(asked[0]).to.deep.equal([undefined, undefined]);
      expect(new Set(out.map((r) => (r as { product_id: number }).product_id)).size).to.equal(7);
      expect(asked.some(([lo, hi]) => lo !== undefined || hi !== undefined)).to.equal(true);
    });

    it('splitSpan cuts an open-ended span at seen update times and keeps its open end', () => {
      expect(splitSpan({}, [10, 11, 12, 13], 2)).to.deep.equal([{ lo: undefined, hi: 11 }, { lo: 12, hi: undefined }]);
      expect(splitSpan({}, [], 2)).to.deep.equal([{}]);
    });
  });

  describe('config and webhook body', () => {
    const env = { SYNC_DELETIONS: 'mark', SYNC_DISCONTINUED: 'gone', SYNC_DELETE_MAX: '0', SYNC_SWEEP_CRON: 'off' };
    it('reads SYNC_DELETIONS, SYNC_DISCONTINUED, SYNC_DELETE_MAX, SYNC_SWEEP_CRON (defaults off, keep, 20, 0 3 * * *)', () => {
      expect(loadConfig({}).mirror).to.deep.equal({ deletions: 'off', discontinued: 'keep', deleteMax: 20, sweepCron: '0 3 * * *' });
      expect(loadConfig(env).mirror).to.deep.equal({ deletions: 'mark', discontinued: 'gone', deleteMax: 0, sweepCron: null });
      let err: unknown;
      try { loadConfig({ SYNC_DELETIONS: 'purge', SYNC_DISCONTINUED: 'yes', SYNC_DELETE_MAX: '-1', SYNC_SWEEP_CRON: 'nightly' }); } catch (e) { err = e; }
      const problems = (err as { problems: string[] }).problems.join('\n');
      for (const v of ['SYNC_DELETIONS', 'SYNC_DISCONTINUED', 'SYNC_DELETE_MAX', 'SYNC_SWEEP_CRON']) expect(problems).to.include(v);
    });

    it('the webhook body takes the new modes and flags, and names the field of a wrong combination', () => {
      expect(parseWebhookBody({ mode: 'sweep', confirmDeletes: true })).to.deep.equal({ mode: 'sweep', confirmDeletes: true });
      expect(parseWebhookBody({ mode: 'audit', repair: true, confirmDeletes: true })).to.include({ mode: 'audit', repair: true });
      const field = (b: unknown) => { try { parseWebhookBody(b); } catch (e) { return (e as { field?: string }).field; } return 'accepted'; };
      expect(field({ mode: 'full', confirmDeletes: true })).to.equal('confirmDeletes');
      expect(field({ mode: 'audit', confirmDeletes: true })).to.equal('confirmDeletes');
      expect(field({ repair: true })).to.equal('repair');
      expect(field({ mode: 'sweep', product_nos: ['P-1'] })).to.equal('product_nos');
      expect(field({ mode: 'sweep', confirmDeletes: 'yes' })).to.equal('confirmDeletes');
      expect(field({ mode: 'purge' })).to.equal('mode');
    });
  });

  describe('the Chinese report', () => {
    const base = (over: Partial<RunRecord>): RunRecord => ({
      id: 'run-1', trigger: 'schedule', mode: 'sweep', status: 'partial', window: { start: null, end: null },
      startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:05.000Z', durationMs: 5000,
      counts: { fetched: 627, created: 0, updated: 0, unchanged: 0, rejected: 0, failed: 0, deleted: 0, marked: 0 }, failures: [], ...over,
    });
    it('a guarded sweep: how many, the limit, how to confirm, and what the sample found', () => {
      const text = renderRunReport(base({
        sweep: { listed: 627, complete: true, candidates: 373 },
        gone: { found: { count: 373, product_nos: ['P-1', 'P-2'] }, due: 373, marked: 0, deleted: 0, kept: 0, guarded: { count: 373, max: 20, confirm: '{"mode":"sweep","confirmDeletes":true}', sampled: { checked: 5, stillInOkki: 5 } } },
      })).text;
      expect(text).to.include('删除核对').and.include('**373**').and.include('SYNC_DELETE_MAX=20').and.include('`{"mode":"sweep","confirmDeletes":true}`').and.include('5 个在 OKKI 中仍然存在');
      expect(text).to.include('删除 **0** · 标记 **0**');
      // the quote ends before the next list line
      expect(text).to.match(/请勿确认。\n\n- \*\*耗时/);
    });
    it('an audit: counts and the first product numbers of each finding, and how to repair', () => {
      const text = renderRunReport(base({
        mode: 'audit', status: 'succeeded',
        audit: { instances: 500, products: 495, missing: { count: 1, product_nos: ['P-9'] }, duplicates: { count: 0, product_nos: [] }, stale: { count: 12, product_nos: Array.from({ length: 12 }, (_, i) => `S-${i}`) }, orphans: { count: 1, product_nos: [''] } },
      })).text;
      expect(text).to.include('缺失（OKKI 有、宜搭无）**1**：P-9').and.include('不一致（宜搭值与 OKKI 不同）**12**：S-0').and.include('等 12 个').and.include('（无编号）');
      expect(text).to.include('"repair":true');
      expect(text).to.not.include('时间窗口');
    });
  });
});
