/** Template language: `{path}`, `{{VARIABLE|filter}}`, literal text, escapes — as seen through map(). */
import { expect } from 'chai';
import { parseMapping, GROUP_PATH_SEPARATOR } from '../src/mapping/index.js';
import type { MappingContext, OkkiProduct } from '../src/core/index.js';
import { groupTree } from './helpers/groups.js';


const groups = groupTree([
  { id: 1, name: '电子产品', parent_id: 0 },
  { id: 2, name: '手机', parent_id: 1 },
  { id: 3, name: '手机壳', parent_id: 2 },
  { id: 9, name: '五金/工具', parent_id: 0 },
]);

const ctx: MappingContext = {
  groups,
  lastSyncTime: new Date('2024-05-01T02:00:00Z'), // 10:00:00 in Shanghai
  now: new Date('2024-05-01T04:30:15.250Z'), // 12:30:15 in Shanghai
  timezone: 'Asia/Shanghai',
};

/** Maps `product` through a one-off mapping whose only extra field has `value`; returns that field. */
function render(value: string, product: OkkiProduct = {}, extra: Record<string, unknown> = {}, context: MappingContext = ctx): unknown {
  const mapping = parseMapping({ request: [{ field: 'textField_key', value: '{product_no}' }, { field: 'out', value, ...extra }] });
  const r = mapping.map({ product_no: 'P-1', ...product }, context);
  if (!r.ok) throw new Error(`rejected: ${r.rejected.reason}`);
  return r.formData.out;
}

describe('mapping templates', () => {
  describe('{path} reads the product', () => {
    it('reads a top-level field, keeping Chinese text intact', () => {
      expect(render('{name}', { name: '不锈钢保温杯 500ml' })).to.equal('不锈钢保温杯 500ml');
    });

    it('follows dot paths into nested objects', () => {
      const product = { fob: { price_min: '12.50', price_currency: 'USD' }, cost_with_tax: { cost: 8 } };
      expect(render('{fob.price_min}', product)).to.equal('12.50');
      expect(render('{cost_with_tax.cost}', product, { type: 'number' })).to.equal(8);
    });

    it('indexes lists with numeric segments', () => {
      expect(render('{images.1.src}', { images: [{ src: 'a.png' }, { src: 'b.png' }] })).to.equal('b.png');
    });

    it('picks an info_json custom field by name', () => {
      const product = { info_json: [{ name: '材质', value: '304不锈钢' }, { name: '颜色', value: '银色' }] };
      expect(render('{info_json.颜色}', product)).to.equal('银色');
    });

    it('gives null for missing fields, null values, blank text and empty lists', () => {
      expect(render('{model}', {})).to.equal(null);
      expect(render('{model}', { model: null })).to.equal(null);
      expect(render('{model}', { model: '   ' })).to.equal(null);
      expect(render('{images}', { images: [] })).to.equal(null);
      expect(render('{fob.price_min}', { fob: null })).to.equal(null);
      expect(render('{fob.price_min.deeper}', { fob: { price_min: '1' } })).to.equal(null);
    });

    it('does not read inherited properties', () => {
      expect(render('{constructor}', {})).to.equal(null);
      expect(render('{name.length}', { name: 'abc' })).to.equal(null);
    });

    it('renders numbers, lists and objects as text for a string field', () => {
      expect(render('{product_id}', { product_id: 42 })).to.equal('42');
      expect(render('{category_ids}', { category_ids: [3, 5] })).to.equal('3,5');
      expect(render('{package_size}', { package_size: { length: 1 } })).to.equal('{"length":1}');
    });
  });

  describe('literal text mixed with placeholders', () => {
    it('joins text and values', () => {
      expect(render('{name}（{model}）', { name: '保温杯', model: 'BW-500' })).to.equal('保温杯（BW-500）');
    });

    it('renders a missing placeholder as empty text when another has a value', () => {
      expect(render('{name}（{model}）', { name: '保温杯' })).to.equal('保温杯（）');
    });

    it('is empty (null) when every placeholder is empty, rather than leftover punctuation', () => {
      expect(render('{name}（{model}）', {})).to.equal(null);
    });

    it('keeps pure literal text as a constant', () => {
      expect(render('OKKI 同步')).to.equal('OKKI 同步');
    });

    it('unescapes \\{ and \\} to literal braces', () => {
      expect(render('\\{{name}\\}', { name: 'x' })).to.equal('{x}');
    });
  });

  describe('{{variables}}', () => {
    const inPhoneCase = { group_id: 3 };

    it('一级分组 / group.level1 is the root ancestor\'s name', () => {
      expect(render('{{一级分组}}', inPhoneCase)).to.equal('电子产品');
      expect(render('{{group.level1}}', inPhoneCase)).to.equal('电子产品');
    });

    it('二级分组 / group.level2 is the level-2 ancestor\'s name, null for a root group', () => {
      expect(render('{{二级分组}}', inPhoneCase)).to.equal('手机');
      expect(render('{{group.level2}}', { group_id: 2 })).to.equal('手机');
      expect(render('{{二级分组}}', { group_id: 1 })).to.equal(null);
    });

    it(`分组路径 / group.path joins names from the root with "${GROUP_PATH_SEPARATOR}"`, () => {
      expect(render('{{分组路径}}', inPhoneCase)).to.equal('电子产品 / 手机 / 手机壳');
      expect(render('{{group.path}}', { group_id: 9 })).to.equal('五金/工具');
    });

    it('group.name is the group\'s own name, falling back to the product\'s group_name', () => {
      expect(render('{{group.name}}', inPhoneCase)).to.equal('手机壳');
      expect(render('{{group.name}}', { group_id: 77, group_name: '新分组' })).to.equal('新分组');
    });

    it('group variables are null for a product without a (known) group', () => {
      expect(render('{{一级分组}}', {})).to.equal(null);
      expect(render('{{分组路径}}', { group_id: 404 })).to.equal(null);
    });

    it('LAST_SYNC_TIME and CURRENT_TIME render as wall-clock text in the context time zone', () => {
      expect(render('{{LAST_SYNC_TIME}}')).to.equal('2024-05-01 10:00:00');
      expect(render('{{CURRENT_TIME}}')).to.equal('2024-05-01 12:30:15');
      expect(render('{{CURRENT_TIME}}', {}, {}, { ...ctx, timezone: 'UTC' })).to.equal('2024-05-01 04:30:15');
    });

    it('LAST_SYNC_TIME is empty on the first run', () => {
      expect(render('{{LAST_SYNC_TIME|datetime}}', {}, {}, { ...ctx, lastSyncTime: undefined })).to.equal(null);
    });

    it('accepts spaces inside the braces', () => {
      expect(render('{{ 一级分组 }}/{ name | date }', { group_id: 3, name: '2024-01-02 03:04:05' })).to.equal('电子产品/2024-01-02');
    });
  });

  describe('filters', () => {
    it('|datetime, |date and |timestamp format a time', () => {
      expect(render('{{CURRENT_TIME|datetime}}')).to.equal('2024-05-01 12:30:15');
      expect(render('{{CURRENT_TIME|date}}')).to.equal('2024-05-01');
      expect(render('{{CURRENT_TIME|timestamp}}', {}, { type: 'number' })).to.equal(Date.parse('2024-05-01T04:30:15.250Z'));
    });

    it('read product wall-clock text in the context time zone', () => {
      expect(render('{update_time|timestamp}', { update_time: '2024-05-01 08:00:00' }, { type: 'number' })).to.equal(Date.parse('2024-05-01T00:00:00Z'));
      expect(render('{update_time|date}', { update_time: '2024-05-01 08:00:00' })).to.equal('2024-05-01');
    });

    it('chain left to right', () => {
      expect(render('{{CURRENT_TIME|date|timestamp}}', {}, { type: 'number' })).to.equal(Date.parse('2024-04-30T16:00:00Z'));
    });

    it('mix with text', () => {
      expect(render('同步于 {{CURRENT_TIME|date}}')).to.equal('同步于 2024-05-01');
    });

    it('reject the product when the value is not a time', () => {
      const mapping = parseMapping({ request: [{ field: 'k', value: '{product_no}' }, { field: 'd', label: '更新日期', value: '{update_time|date}' }] });
      const r = mapping.map({ product_no: 'P-1', update_time: 'yesterday' }, ctx);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.rejected.reason).to.include('更新日期').and.include('"yesterday"');
    });
  });
});
