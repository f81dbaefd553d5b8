/** `_function EXPR`: the safe expression language and its MySQL semantics. */
import { expect } from 'chai';
import { parseMapping } from '../src/mapping/index.js';
import type { GroupTree, MappingContext, OkkiProduct } from '../src/core/index.js';

const noGroups: GroupTree = { name: () => undefined, level1: () => undefined, level2: () => undefined, path: () => [], size: 0 };

const ctx: MappingContext = {
  groups: noGroups,
  lastSyncTime: new Date('2024-05-01T02:00:00Z'), // 2024-05-01 10:00:00 in Shanghai
  now: new Date('2024-05-01T04:30:15.250Z'), // 2024-05-01 12:30:15 in Shanghai
  timezone: 'Asia/Shanghai',
};

function evaluate(expr: string, product: OkkiProduct = {}, extra: Record<string, unknown> = {}, context: MappingContext = ctx) {
  const mapping = parseMapping({ request: [{ field: 'k', value: '{product_no}' }, { field: 'out', label: '结果', value: `_function ${expr}`, ...extra }] });
  return mapping.map({ product_no: 'P-1', ...product }, context);
}

function value(expr: string, product: OkkiProduct = {}, extra: Record<string, unknown> = {}, context: MappingContext = ctx): unknown {
  const r = evaluate(expr, product, extra, context);
  if (!r.ok) throw new Error(`rejected: ${r.rejected.reason}`);
  return r.formData.out;
}

describe('mapping _function expressions', () => {
  describe('SUBTIME / ADDTIME (MySQL semantics)', () => {
    it('subtracts an HH:MM:SS interval from LAST_SYNC_TIME quoted as a template', () => {
      expect(value("SUBTIME('{{LAST_SYNC_TIME|datetime}}', '00:30:01')")).to.equal('2024-05-01 09:29:59');
    });

    it('is empty on the first run, when LAST_SYNC_TIME has no value', () => {
      expect(value("SUBTIME('{{LAST_SYNC_TIME|datetime}}', '00:30:01')", {}, {}, { ...ctx, lastSyncTime: undefined })).to.equal(null);
    });

    it('accepts a bare date placeholder, read in the context time zone', () => {
      expect(value("SUBTIME({{CURRENT_TIME}}, '01:00:00')")).to.equal('2024-05-01 11:30:15');
    });

    it('carries across midnight, month ends, leap days and years', () => {
      expect(value("ADDTIME('2023-12-31 23:59:59', '00:00:01')")).to.equal('2024-01-01 00:00:00');
      expect(value("ADDTIME('2024-02-28 12:00:00', '24:00:00')")).to.equal('2024-02-29 12:00:00');
      expect(value("SUBTIME('2024-03-01 00:10:00', '00:20:00')")).to.equal('2024-02-29 23:50:00');
    });

    it('matches the MySQL manual examples (days part, microseconds, TIME results)', () => {
      expect(value("SUBTIME('2007-12-31 23:59:59.999999', '1 1:1:1.000002')")).to.equal('2007-12-30 22:58:58.999997');
      expect(value("SUBTIME('01:00:00.999999', '02:00:00.999998')")).to.equal('-00:59:59.999999');
      expect(value("ADDTIME('2007-12-31 23:59:59.999999', '1 1:1:1.000002')")).to.equal('2008-01-02 01:01:01.000001');
      expect(value("ADDTIME('01:00:00.999999', '02:00:00.999998')")).to.equal('03:00:01.999997');
    });

    it('reads colon-less intervals from the right (SS, MMSS, HHMMSS) and HH:MM as hours and minutes', () => {
      expect(value("ADDTIME('2024-01-01 00:00:00', 130)")).to.equal('2024-01-01 00:01:30');
      expect(value("ADDTIME('2024-01-01 00:00:00', '10:30')")).to.equal('2024-01-01 10:30:00');
      expect(value("ADDTIME('2024-01-01 00:00:00', '-00:00:30')")).to.equal('2023-12-31 23:59:30');
    });

    it('gives NULL (an empty field) for invalid dates or intervals, as MySQL does', () => {
      expect(value("SUBTIME('not a date', '00:00:01')")).to.equal(null);
      expect(value("SUBTIME('2024-02-30 00:00:00', '00:00:01')")).to.equal(null);
      expect(value("SUBTIME('2024-01-01 00:00:00', '00:61:00')")).to.equal(null);
      expect(value("ADDTIME('2024-01-01 00:00:00', '2024-01-01 00:00:00')")).to.equal(null);
      expect(value("ADDTIME('9999-12-31 23:59:59', '00:00:01')")).to.equal(null);
    });

    it('feeds a date field as a ms timestamp of the wall-clock time', () => {
      expect(value("SUBTIME('{{LAST_SYNC_TIME|datetime}}', '00:30:01')", {}, { type: 'date' })).to.equal(Date.parse('2024-05-01T01:29:59Z'));
    });
  });

  describe('DATE_FORMAT', () => {
    const cases: Array<[string, string, string]> = [
      ['2009-10-04 22:23:00', '%W %M %Y', 'Sunday October 2009'],
      ['2007-10-04 22:23:00', '%H:%i:%s', '22:23:00'],
      ['1900-10-04 22:23:00', '%D %y %a %d %m %b %j', '4th 00 Thu 04 10 Oct 277'],
      ['1997-10-04 22:23:00', '%H %k %I %r %T %S %w', '22 22 10 10:23:00 PM 22:23:00 00 6'],
      ['1999-01-01', '%X %V', '1998 52'],
      ['2024-01-01', '%U %u %V %v %X %x', '00 01 53 01 2023 2024'],
      ['2024-12-30', '%v %x', '01 2025'],
      ['2024-03-05 07:08:09.123', '%c/%e %l:%i %p %f %%', '3/5 7:08 AM 123000 %'],
      ['2021-11-13', '%D %D', '13th 13th'],
    ];
    for (const [date, format, expected] of cases) {
      it(`DATE_FORMAT('${date}', '${format}') = '${expected}'`, () => {
        expect(value(`DATE_FORMAT('${date}', '${format}')`)).to.equal(expected);
      });
    }

    it('formats product times with Chinese text in the format', () => {
      expect(value("DATE_FORMAT('{update_time}', '%Y年%m月%d日')", { update_time: '2024-05-01 08:00:00' })).to.equal('2024年05月01日');
    });

    it('formats a date variable as wall-clock time in the context zone', () => {
      expect(value("DATE_FORMAT({{CURRENT_TIME}}, '%Y-%m-%d %H:%i:%s.%f')")).to.equal('2024-05-01 12:30:15.250000');
    });

    it('is NULL for something that is not a date', () => {
      expect(value("DATE_FORMAT('soon', '%Y')")).to.equal(null);
    });
  });

  describe('text functions', () => {
    it('CONCAT joins, and is NULL when any argument is NULL', () => {
      expect(value("CONCAT('{name}', '-', '{model}', 2)", { name: '保温杯', model: 'BW' })).to.equal('保温杯-BW2');
      expect(value("CONCAT('{name}', '-', '{model}')", { name: '保温杯' })).to.equal(null);
    });

    it('IFNULL and COALESCE supply fallbacks for empty values', () => {
      expect(value("IFNULL('{model}', '无型号')", {})).to.equal('无型号');
      expect(value("IFNULL('{model}', '无型号')", { model: 'M1' })).to.equal('M1');
      expect(value('IFNULL({model}, NULL)', { model: '  ' })).to.equal(null);
      expect(value("COALESCE({model}, {name}, 'x')", { name: 'n' })).to.equal('n');
    });

    it('REPLACE replaces every occurrence, case-sensitively; an empty replacement deletes', () => {
      expect(value("REPLACE('{name}', '-', '')", { name: 'A-B-c-D' })).to.equal('ABcD');
      expect(value("REPLACE('{name}', 'a', 'x')", { name: 'aAa' })).to.equal('xAx');
      expect(value("REPLACE('{name}', '杯', '壶')", { name: '保温杯杯' })).to.equal('保温壶壶');
    });

    it('UPPER, LOWER and TRIM', () => {
      expect(value("UPPER('{name}')", { name: 'abc-中文' })).to.equal('ABC-中文');
      expect(value("LOWER('ABC')")).to.equal('abc');
      expect(value('TRIM({name})', { name: '  x  ' })).to.equal('x');
    });

    it('function names are case-insensitive', () => {
      expect(value("upper(concat('a', 'b'))")).to.equal('AB');
    });
  });

  describe('ROUND', () => {
    it('rounds half away from zero on decimal digits', () => {
      expect(value("ROUND('{fob.price_min}', 2)", { fob: { price_min: '12.345' } }, { type: 'number' })).to.equal(12.35);
      expect(value('ROUND(1.005, 2)', {}, { type: 'number' })).to.equal(1.01);
      expect(value('ROUND(-2.5)', {}, { type: 'number' })).to.equal(-3);
      expect(value('ROUND(2.4)', {}, { type: 'number' })).to.equal(2);
      expect(value('ROUND(1250, -2)', {}, { type: 'number' })).to.equal(1300);
    });

    it('is NULL for NULL input', () => {
      expect(value('ROUND({price})', {}, { type: 'number' })).to.equal(null);
    });

    it('rejects the product, naming the field and value, for non-numeric input', () => {
      const r = evaluate('ROUND({price}, 1)', { price: 'abc' });
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.rejected.reason).to.include('结果').and.include('"abc"');
    });
  });

  describe('syntax', () => {
    it('nests functions several levels deep', () => {
      expect(value("DATE_FORMAT(SUBTIME(ADDTIME('{{LAST_SYNC_TIME|datetime}}', '01:00:00'), '00:30:01'), '%Y/%m/%d %H:%i')")).to.equal('2024/05/01 10:29');
      expect(value("CONCAT(UPPER(LOWER(REPLACE('{name}', ' ', '_'))), '@', IFNULL('{{一级分组}}', '未分组'))", { name: 'a b' })).to.equal('A_B@未分组');
    });

    it('allows spaces and new lines between tokens', () => {
      expect(value("CONCAT (\n  'a' ,\n  'b'\n)")).to.equal('ab');
    });

    it('understands quote doubling, backslash escapes and double-quoted strings', () => {
      expect(value("CONCAT('it''s', ' ', \"say \\\"hi\\\"\")")).to.equal('it\'s say "hi"');
      expect(value("CONCAT('\\{', '{name}', '\\}')", { name: 'x' })).to.equal('{x}');
    });

    it('keeps an empty string literal as text (not NULL)', () => {
      expect(value("CONCAT('a', '', 'b')")).to.equal('ab');
    });

    it('a lone number or string is a valid expression', () => {
      expect(value('42', {}, { type: 'number' })).to.equal(42);
      expect(value("'固定值'")).to.equal('固定值');
    });
  });
});
