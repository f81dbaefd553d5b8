/** map(): type coercion for Yida components, quality rules, rejections, content hashes and previews. */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  canonicalJson, detailFieldsFor, formatPreview, hashFormData, LIST_MISSING_FIELDS, parseMapping, previewMapping,
} from '../src/mapping/index.js';
import type { GroupTree, MappingContext, MappingResult, OkkiProduct } from '../src/core/index.js';
import { groupTree } from './helpers/groups.js';


const groups = groupTree([
  { id: 1, name: '家居', parent_id: 0 },
  { id: 2, name: '厨房', parent_id: 1 },
  { id: 3, name: '杯具', parent_id: 2 },
]);
const ctx: MappingContext = { groups, lastSyncTime: new Date('2024-05-01T02:00:00Z'), now: new Date('2024-05-01T04:30:15Z'), timezone: 'Asia/Shanghai' };

const KEY = { field: 'textField_no', label: '产品编码', value: '{product_no}' };

function field(entry: Record<string, unknown>, product: OkkiProduct): MappingResult {
  return parseMapping({ request: [KEY, { field: 'out', label: '目标', ...entry }] }).map({ product_no: 'P-1', ...product }, ctx);
}

function mapped(entry: Record<string, unknown>, product: OkkiProduct): unknown {
  const r = field(entry, product);
  if (!r.ok) throw new Error(`rejected: ${r.rejected.reason}`);
  return r.formData.out;
}

function reason(entry: Record<string, unknown>, product: OkkiProduct): string {
  const r = field(entry, product);
  if (r.ok) throw new Error(`expected a rejection, got ${JSON.stringify(r.formData)}`);
  expect(r.rejected.code).to.equal('MAPPING_REJECTED');
  expect(r.rejected.product_no).to.equal('P-1');
  return r.rejected.reason;
}

describe('mapping map()', () => {
  describe('the shipped mapping on a typical OKKI product', () => {
    it('produces the Yida form data', async () => {
      const { loadMapping } = await import('../src/mapping/index.js');
      const r = loadMapping('manifest/mapping.json').map({
        product_id: 1001, product_no: 'BW-500', name: '不锈钢保温杯', group_id: 3, product_type: 2, product_remark: '', update_time: '2024-05-01 09:00:00',
      }, ctx);
      expect(r.ok).to.equal(true);
      if (r.ok) {
        expect(r.productNo).to.equal('BW-500');
        expect(r.formData).to.deep.equal({
          textField_lq0sj9h9: '不锈钢保温杯',
          textField_lq23ags2: 'BW-500',
          textField_lq0sj9h3: '家居',
          textField_lqdd2tui: '厨房',
          textField_lstsv908: '2',
          textareaField_lq23ags6: null,
        });
      }
    });
  });

  describe('number fields (type number, NumberField, numberField_ ids)', () => {
    it('turn OKKI\'s numeric strings into numbers', () => {
      expect(mapped({ value: '{fob.price_min}', componentName: 'NumberField' }, { fob: { price_min: '12.50' } })).to.equal(12.5);
      expect(mapped({ value: '{cost}', type: 'number' }, { cost: ' 1,234.5 ' })).to.equal(1234.5);
      expect(mapped({ value: '{cost}', type: 'number' }, { cost: 7 })).to.equal(7);
    });

    it('are inferred from a numberField_ id when neither type nor componentName is given', () => {
      const r = parseMapping({ request: [KEY, { field: 'numberField_qty', value: '{qty}' }] }).map({ product_no: 'P', qty: '3' }, ctx);
      expect(r.ok && r.formData.numberField_qty).to.equal(3);
    });

    it('an explicit type wins over the id prefix', () => {
      const r = parseMapping({ request: [KEY, { field: 'numberField_qty', type: 'string', value: '{qty}' }] }).map({ product_no: 'P', qty: '3' }, ctx);
      expect(r.ok && r.formData.numberField_qty).to.equal('3');
    });

    it('reject the product, naming the label and the value, when the value is not a number', () => {
      expect(reason({ value: '{cost}', type: 'number' }, { cost: '12元' })).to.equal('目标 (out): "12元" is not a number');
      expect(reason({ value: '{cost}', type: 'number' }, { cost: true })).to.include('true is not a number');
      expect(reason({ value: '{cost}', type: 'number' }, { cost: { a: 1 } })).to.include('{"a":1} is not a number');
    });
  });

  describe('hostile values (ReDoS)', () => {
    it('a 1 MB digit run with a letter at the end, in a number field, is rejected in well under a second', async function () {
      this.timeout(60_000);
      // In a child process with a kill timer: a regression (a pattern that backtracks) hangs for hours, which must fail
      // this test rather than stall the suite. The child times only the mapping, not its own start-up.
      const code = `
        const { parseMapping } = await import(${JSON.stringify(new URL('../src/mapping/index.ts', import.meta.url).pathname)});
        const m = parseMapping({ request: [{ field: 'textField_no', value: '{product_no}' }, { field: 'out', label: '目标', type: 'number', value: '{cost}' }, { field: 'numberField_x', value: '{cost}' }, { field: 'textField_t', value: '{cost}' }] });
        const ctx = { groups: { name() {}, level1() {}, level2() {}, path() { return []; }, size: 0 }, now: new Date(), timezone: 'Asia/Shanghai' };
        const out = [];
        for (const cost of ['1'.repeat(1_000_000) + 'a', '1'.repeat(1_000_000), '1'.repeat(500_000) + '.' + '1'.repeat(500_000) + 'e', ' '.repeat(500_000) + '1'.repeat(500_000) + 'x']) {
          const t = performance.now();
          const r = m.map({ product_no: 'P-1', cost }, ctx);
          out.push({ ms: performance.now() - t, ok: r.ok, reason: r.ok ? '' : r.rejected.reason });
        }
        process.stdout.write(JSON.stringify(out));`;
      const { execFile } = await import('node:child_process');
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { timeout: 30_000, maxBuffer: 1 << 20 }, (err, out) => (err ? reject(new Error(`the mapping did not finish: ${err.message.slice(0, 200)}`)) : resolve(out)));
      });
      const results = JSON.parse(stdout) as Array<{ ms: number; ok: boolean; reason: string }>;
      for (const r of results) {
        expect(r.ok).to.equal(false);
        // the reason names the field and quotes the value cut short, so one odd product cannot flood a report
        expect(r.reason).to.match(/^目标 \(out\): ".{10,}… is not a number$/);
        expect(r.ms, 'milliseconds to map a 1 MB value (a generous bound: it takes a few)').to.be.below(1000);
      }
    });
  });

  describe('date fields (type date, DateField)', () => {
    const date = (v: unknown) => mapped({ value: '{t}', componentName: 'DateField' }, { t: v });

    it('read OKKI wall-clock text in the context zone and give ms timestamps', () => {
      expect(date('2024-05-01 08:00:00')).to.equal(Date.parse('2024-05-01T00:00:00Z'));
      expect(date('2024-05-01')).to.equal(Date.parse('2024-04-30T16:00:00Z'));
    });

    it('accept ISO 8601 with a zone, epoch milliseconds and epoch seconds', () => {
      expect(date('2024-05-01T00:00:00Z')).to.equal(Date.parse('2024-05-01T00:00:00Z'));
      expect(date(1714521600000)).to.equal(1714521600000);
      expect(date('1714521600')).to.equal(1714521600000);
    });

    it('resolve DST folds to the earlier instant and gaps forward, where the zone has DST', () => {
      const mapping = parseMapping({ request: [KEY, { field: 'd', type: 'date', value: '{t}' }] });
      const at = (t: string) => { const r = mapping.map({ product_no: 'P', t }, { ...ctx, timezone: 'Europe/Berlin' }); return r.ok ? r.formData.d : r.rejected.reason; };
      expect(at('2024-10-27 02:30:00')).to.equal(Date.parse('2024-10-27T00:30:00Z'));
      expect(at('2024-03-31 02:30:00')).to.equal(Date.parse('2024-03-31T01:30:00Z'));
      expect(at('2024-07-01 12:00:00')).to.equal(Date.parse('2024-07-01T10:00:00Z'));
    });

    it('treat the zero date as empty', () => {
      expect(date('0000-00-00 00:00:00')).to.equal(null);
    });

    it('reject text that is not a date', () => {
      expect(reason({ value: '{t}', type: 'date' }, { t: '下周一' })).to.include('"下周一" is not a date');
      expect(reason({ value: '{t}', type: 'date' }, { t: '2024-13-01' })).to.include('is not a date');
    });
  });

  describe('list fields (type array, CheckboxField, MultiSelectField)', () => {
    it('keep lists, dropping empty items and stringifying scalars', () => {
      expect(mapped({ value: '{tags}', componentName: 'CheckboxField' }, { tags: ['红', '', null, 3] })).to.deep.equal(['红', '3']);
    });

    it('split text on ASCII and full-width separators', () => {
      expect(mapped({ value: '{tags}', componentName: 'MultiSelectField' }, { tags: '红,蓝，绿、黑; 白' })).to.deep.equal(['红', '蓝', '绿', '黑', '白']);
    });

    it('wrap a single number, and are empty for an empty list', () => {
      expect(mapped({ value: '{n}', type: 'array' }, { n: 5 })).to.deep.equal(['5']);
      expect(mapped({ value: '{tags}', type: 'array' }, { tags: [null, ''] })).to.equal(null);
    });

    it('reject an object', () => {
      expect(reason({ value: '{tags}', type: 'array' }, { tags: { a: 1 } })).to.include('is not a list');
    });
  });

  describe('string fields', () => {
    it('format dates as wall-clock text', () => {
      expect(mapped({ value: '{{CURRENT_TIME}}', type: 'string' }, {})).to.equal('2024-05-01 12:30:15');
    });
  });

  describe('empty values', () => {
    it('are present in the form data as null (so an update can clear the Yida field)', () => {
      const r = field({ value: '{product_remark}' }, {});
      expect(r.ok && Object.prototype.hasOwnProperty.call(r.formData, 'out') && r.formData.out).to.equal(null);
    });
  });

  describe('quality rules', () => {
    it('required: true rejects a product whose value is empty, naming the label', () => {
      expect(reason({ value: '{name}', required: true }, { name: ' ' })).to.equal('目标 (out): required value is empty ("{name}")');
    });

    it('other products map normally', () => {
      const mapping = parseMapping({ request: [KEY, { field: 'n', label: '名称', value: '{name}', required: true }] });
      const results = [{ product_no: 'A' }, { product_no: 'B', name: '杯' }].map((p) => mapping.map(p, ctx));
      expect(results.map((r) => r.ok)).to.deep.equal([false, true]);
    });

    it('lists every failing field of a product in one reason', () => {
      const mapping = parseMapping({
        request: [KEY, { field: 'n', label: '名称', value: '{name}', required: true }, { field: 'p', label: '价格', value: '{price}', type: 'number' }],
      });
      const r = mapping.map({ product_no: 'A', price: 'n/a' }, ctx);
      expect(!r.ok && r.rejected.reason).to.equal('名称 (n): required value is empty ("{name}"); 价格 (p): "n/a" is not a number');
    });

    it('truncates long offending values in the reason', () => {
      const r = reason({ value: '{price}', type: 'number' }, { price: 'x'.repeat(10_000) });
      expect(r.length).to.be.lessThan(120);
      expect(r).to.include('…');
    });

    it('the key field is always required', () => {
      const mapping = parseMapping({ keyField: 'sku', request: [{ field: 'sku', value: '{sku_code}' }] });
      const r = mapping.map({ product_no: 'A' }, ctx);
      expect(!r.ok && r.rejected.reason).to.include('required value is empty');
    });
  });

  describe('products that cannot be mapped', () => {
    const mapping = parseMapping({ request: [KEY] });

    it('without product_no are rejected, keeping product_id for the record', () => {
      const r = mapping.map({ product_id: 77, name: 'x' }, ctx);
      expect(r).to.deep.equal({ ok: false, rejected: { product_no: null, product_id: 77, code: 'MAPPING_REJECTED', reason: 'product has no product_no' } });
      const blank = mapping.map({ product_no: '   ' }, ctx);
      expect(!blank.ok && blank.rejected.reason).to.include('is not a product number');
    });

    it('a numeric product_no is used as text', () => {
      const r = mapping.map({ product_no: 12345 as unknown as string }, ctx);
      expect(r.ok && r.productNo).to.equal('12345');
    });

    it('something that is not an object is rejected, not thrown', () => {
      for (const p of [null, undefined, 'P-1', 42, ['P-1']]) {
        const r = mapping.map(p as unknown as OkkiProduct, ctx);
        expect(r.ok).to.equal(false);
      }
    });

    it('a failing group lookup or a bad time zone rejects instead of throwing', () => {
      const m = parseMapping({ request: [KEY, { field: 'g', value: '{{分组路径}}' }, { field: 't', value: '{{CURRENT_TIME}}' }] });
      const brokenGroups: GroupTree = { ...groups, path: () => { throw new Error('tree not loaded'); } };
      const r1 = m.map({ product_no: 'A', group_id: 1 }, { ...ctx, groups: brokenGroups });
      expect(!r1.ok && r1.rejected.reason).to.equal('mapping failed: tree not loaded');
      const r2 = m.map({ product_no: 'A' }, { ...ctx, timezone: 'Mars/Olympus' });
      expect(r2.ok).to.equal(false);
    });
  });

  describe('content hash', () => {
    it('is sha256 of canonical JSON', () => {
      expect(hashFormData({})).to.equal('44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
    });

    it('ignores key order at every depth but not list order', () => {
      expect(hashFormData({ a: 1, b: { x: [1, 2], y: '中' } })).to.equal(hashFormData({ b: { y: '中', x: [1, 2] }, a: 1 }));
      expect(hashFormData({ a: [1, 2] })).not.to.equal(hashFormData({ a: [2, 1] }));
    });

    it('changes when a value changes, and distinguishes null, "" and 0', () => {
      const hashes = [{ a: null }, { a: '' }, { a: 0 }, { a: 'null' }, {}].map(hashFormData);
      expect(new Set(hashes).size).to.equal(5);
    });

    it('is the hash map() returns, and does not depend on the product\'s key order', () => {
      const mapping = parseMapping({ request: [KEY, { field: 'n', value: '{name}' }, { field: 'p', value: '{fob.price_min}', type: 'number' }] });
      const a = mapping.map({ product_no: 'A', name: '杯', fob: { price_min: '1.5', price_max: '2' } }, ctx);
      const b = mapping.map({ fob: { price_max: '2', price_min: '1.5' }, name: '杯', product_no: 'A' }, ctx);
      expect(a.ok && b.ok).to.equal(true);
      if (a.ok && b.ok) {
        expect(a.hash).to.equal(b.hash);
        expect(a.hash).to.equal(hashFormData(a.formData));
        expect(a.hash).to.equal(hashFormData({ p: 1.5, n: '杯', textField_no: 'A' }));
      }
    });

    it('is stable across releases for the same form data (a change would re-write every product once)', () => {
      const formData = { textField_no: 'A', n: '杯', p: 1.5, d: null, l: ['红'] };
      expect(canonicalJson(formData)).to.equal('{"d":null,"l":["红"],"n":"杯","p":1.5,"textField_no":"A"}');
      expect(hashFormData(formData)).to.equal('ba35678e40cc817b5e1cfae5a7211b8c197735e206844bfbcd3179f8d60d262a');
    });
  });

  describe('referenced product fields', () => {
    it('are the top-level names of every path, in templates and functions, plus what variables read', () => {
      const mapping = parseMapping({
        request: [
          KEY,
          { field: 'a', value: '{fob.price_min} / {cost_with_tax.cost}' },
          { field: 'b', value: "_function CONCAT(IFNULL('{sku_items.0.sku_no}', ''), {model})" },
          { field: 'c', value: '{{group.name}}' },
          { field: 'd', value: '{{CURRENT_TIME|date}}' },
        ],
      });
      expect([...mapping.referencedProductFields()].sort()).to.deep.equal(['cost_with_tax', 'fob', 'group_id', 'group_name', 'model', 'product_no', 'sku_items']);
      expect(detailFieldsFor(mapping)).to.deep.equal(['sku_items']);
      expect(LIST_MISSING_FIELDS).to.include('product_type');
    });
  });

  describe('previewMapping', () => {
    it('shows the form data or the rejection of each product, with labels in the text form', () => {
      const mapping = parseMapping({ request: [KEY, { field: 'n', label: '名称', value: '{name}', required: true }] });
      const items = previewMapping(mapping, [{ product_no: 'A', name: '杯' }, { product_no: 'B' }, { name: 'no number' }], ctx);
      expect(items.map((i) => i.product_no)).to.deep.equal(['A', 'B', null]);
      expect(items[0].formData).to.deep.equal({ textField_no: 'A', n: '杯' });
      expect(items[0].hash).to.have.length(64);
      expect(items[1].rejected?.reason).to.include('名称 (n): required value is empty');
      const text = formatPreview(items, mapping);
      expect(text).to.include('名称 (n): "杯"').and.include('✗ B').and.include('(no product_no)');
    });
  });

  describe('property: random products never throw', () => {
    const mapping = parseMapping({
      request: [
        KEY,
        { field: 'textField_name', label: '名称', value: '{name}（{model}）' },
        { field: 'numberField_price', label: '价格', value: '{fob.price_min}' },
        { field: 'dateField_updated', label: '更新时间', value: '{update_time}' },
        { field: 'checkboxField_tags', label: '标签', value: '{tags}' },
        { field: 'textField_group', label: '分组', value: '{{分组路径}}' },
        { field: 'textField_since', label: '窗口', value: "_function SUBTIME('{{LAST_SYNC_TIME|datetime}}', '00:30:01')" },
        { field: 'numberField_rounded', label: '取整', value: "_function ROUND(IFNULL({cost_with_tax.cost}, 0), 1)" },
        { field: 'textField_fmt', label: '格式', value: "_function DATE_FORMAT(IFNULL({create_time}, {{CURRENT_TIME}}), '%Y年%m月%d日')" },
        { field: 'textField_req', label: '必填', value: "_function UPPER(CONCAT('{name}', '-', REPLACE('{model}', ' ', '')))", required: true },
      ],
    });
    const scalar = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant('2024-05-01 08:00:00'), fc.constant('12.50'), fc.constant(''));
    const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(fc.constantFrom('price_min', 'cost', 'name', 'value'), scalar), fc.anything());
    /** mostly plausible OKKI values, sometimes anything at all, so both outcomes are exercised */
    const mostly = <T>(plausible: fc.Arbitrary<T>) => fc.oneof({ arbitrary: plausible, weight: 6 }, { arbitrary: value, weight: 1 });
    const product = fc.tuple(
      fc.record({
        product_no: mostly(fc.stringMatching(/^[A-Z]{1,3}-\d{1,5}$/)),
        name: mostly(fc.string({ minLength: 1 }).map((n) => `杯${n}`)),
        model: mostly(fc.string({ minLength: 1 }).map((m) => `M${m}`)),
        update_time: mostly(fc.constantFrom('2024-05-01 08:00:00', '2023-12-31 23:59:59', '0000-00-00 00:00:00', '')),
        fob: mostly(fc.record({ price_min: fc.constantFrom('12.50', '0', '1,234.5', '') })),
        tags: mostly(fc.array(fc.string(), { maxLength: 3 })),
      }, { requiredKeys: ['product_no', 'name', 'model'] }),
      fc.dictionary(fc.constantFrom('product_id', 'create_time', 'group_id', 'cost_with_tax', '__proto__', 'constructor'), value),
    ).map(([known, rest]) => ({ ...rest, ...known }));

    it('maps or rejects with a reason, with values of the field types', () => {
      let mappedCount = 0;
      fc.assert(fc.property(product, fc.option(fc.date({ noInvalidDate: true }), { nil: undefined }), (p, last) => {
        const r = mapping.map(p as OkkiProduct, { ...ctx, lastSyncTime: last });
        if (!r.ok) {
          expect(r.rejected.code).to.equal('MAPPING_REJECTED');
          expect(r.rejected.reason).to.be.a('string').and.not.equal('');
          return;
        }
        expect(Object.keys(r.formData)).to.have.length(10);
        expect(r.hash).to.match(/^[0-9a-f]{64}$/);
        for (const k of ['numberField_price', 'dateField_updated', 'numberField_rounded']) {
          expect(r.formData[k] === null || typeof r.formData[k] === 'number', k).to.equal(true);
        }
        expect(r.formData.checkboxField_tags === null || Array.isArray(r.formData.checkboxField_tags)).to.equal(true);
        expect(r.formData.textField_req).to.be.a('string');
        expect(mapping.map(p as OkkiProduct, { ...ctx, lastSyncTime: last })).to.deep.equal(r);
        mappedCount++;
      }), { numRuns: 400 });
      // the generator must exercise the success path too, not only rejections
      expect(mappedCount).to.be.greaterThan(100);
    });

    it('anything at all in place of a product is mapped or rejected', () => {
      fc.assert(fc.property(fc.anything({ withBoxedValues: true, withMap: true, withSet: true, withDate: true, withTypedArray: true, withSparseArray: true, withNullPrototype: true }), (p) => {
        const r = mapping.map(p as OkkiProduct, ctx);
        expect(r.ok || r.rejected.reason.length > 0).to.equal(true);
      }), { numRuns: 300 });
    });
  });
});
