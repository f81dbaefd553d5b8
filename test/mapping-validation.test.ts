/** Start-up validation of the mapping file: every problem at once, each with its entry and character position. */
import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectorError } from '../src/errors.js';
import { detailFieldsFor, loadMapping, MappingError, parseMapping } from '../src/mapping/index.js';
import { redact } from '../src/redact.js';

const KEY = { field: 'textField_key', label: '产品编码', value: '{product_no}' };

/** The problems parseMapping reports for `doc`; fails the test when it does not throw. */
function problemsOf(doc: unknown): string[] {
  try {
    parseMapping(doc);
  } catch (e) {
    expect(e).to.be.instanceOf(MappingError);
    return (e as MappingError).problems;
  }
  expect.fail('expected a MappingError');
}

/** The single problem of a mapping whose one extra entry has `value`. */
function valueProblem(value: string): string {
  const problems = problemsOf({ request: [KEY, { field: 'textField_x', label: '测试', value }] });
  expect(problems, problems.join('\n')).to.have.length(1);
  return problems[0];
}

/** 1-based character position of the n-th occurrence of `needle` in `text`. */
function charOf(text: string, needle: string, nth = 1): number {
  let at = -1;
  for (let i = 0; i < nth; i++) at = text.indexOf(needle, at + 1);
  expect(at, `"${needle}" in ${text}`).to.be.greaterThan(-1);
  return at + 1;
}

describe('mapping validation', () => {
  describe('the shipped manifest/mapping.json', () => {
    it('loads, with the product-number entry as the key field', () => {
      const mapping = loadMapping('manifest/mapping.json');
      expect(mapping.keyField).to.equal('textField_lq23ags2');
      expect(mapping.fields.map((f) => f.label)).to.deep.equal(['产品名称', '产品编码', '一级分类', '二级分类', '产品规格', '产品备注']);
    });

    it('carries the level-2 group name in 二级分类 and needs product_type from the detail endpoint', () => {
      const mapping = loadMapping('manifest/mapping.json');
      expect(mapping.fields.find((f) => f.label === '二级分类')?.template).to.equal('{{二级分组}}');
      expect([...mapping.referencedProductFields()].sort()).to.deep.equal(['group_id', 'name', 'product_no', 'product_remark', 'product_type']);
      expect(detailFieldsFor(mapping)).to.deep.equal(['product_type']);
    });
  });

  describe('MappingError', () => {
    it('is a ConnectorError with code MAPPING_INVALID and lists every problem in its message', () => {
      let err: unknown;
      try {
        parseMapping({
          request: [
            { field: 'textField_a', label: '名称', value: '{{一级分组x}}' },
            { field: 'textField_a', label: '型号', value: '{model|upper}' },
            { field: 'textField_c', label: '价格', value: '_function ROUND(' },
          ],
        });
      } catch (e) { err = e; }
      expect(err).to.be.instanceOf(ConnectorError);
      const e = err as MappingError;
      expect(e.code).to.equal('MAPPING_INVALID');
      expect(e.problems).to.have.length(5);
      for (const p of e.problems) expect(e.message).to.include(p);
      expect(e.problems[0]).to.match(/^request\[0\] "名称" \(textField_a\): value .*unknown variable "一级分组x".* at char 3$/);
      expect(e.problems[1]).to.match(/^request\[1\] "型号" \(textField_a\): value .*unknown filter "upper".* at char 8$/);
      expect(e.problems[2]).to.match(/^request\[1\] "型号" \(textField_a\): duplicate target field "textField_a" \(already mapped by request\[0\]\)$/);
      expect(e.problems[3]).to.match(/^request\[2\] "价格" \(textField_c\): value .*expected a value but found end of expression at char 17$/);
      expect(e.problems[4]).to.match(/^missing key field/);
    });
  });

  describe('template syntax errors carry the character position', () => {
    const cases: Array<[string, string, (v: string) => number]> = [
      ['{name', 'unclosed "{"', () => 1],
      ['产品：{name} {{一级分组}', 'unclosed "{{"', (v) => charOf(v, '{{')],
      ['名称}', 'unmatched "}"', (v) => charOf(v, '}')],
      ['a {} b', 'empty placeholder', (v) => charOf(v, '}')],
      ['{fob..price}', 'invalid product path "fob..price"', (v) => charOf(v, '.', 2)],
      ['{fob.price-min}', 'invalid product path', (v) => charOf(v, 'price')],
      ['{{ 三级分组 }}', 'unknown variable "三级分组"', (v) => charOf(v, '三')],
      ['{{LAST_SYNC_TIME|datetime|yyyy}}', 'unknown filter "yyyy"', (v) => charOf(v, 'yyyy')],
      ['{name|}', 'empty filter after "|"', (v) => charOf(v, '}')],
    ];
    for (const [value, message, pos] of cases) {
      it(`${JSON.stringify(value)} → ${message}`, () => {
        const p = valueProblem(value);
        expect(p).to.include(message);
        expect(p).to.match(new RegExp(` at char ${pos(value)}$`));
        expect(p).to.include('request[1] "测试" (textField_x)');
      });
    }
  });

  describe('_function syntax errors carry the character position', () => {
    const cases: Array<[string, string, (v: string) => number]> = [
      ["_function SUBTIM('{{LAST_SYNC_TIME|datetime}}', '00:30:01')", 'unknown function "SUBTIM"', (v) => charOf(v, 'SUBTIM')],
      ["_function SUBTIME('{{LAST_SYNC_TIME|datetime}}')", 'SUBTIME takes 2 arguments, got 1', (v) => charOf(v, 'SUBTIME')],
      ["_function CONCAT('a' 'b')", 'expected "," or ")"', (v) => charOf(v, "'b'")],
      ["_function CONCAT('a', 'b'", 'expected "," or ")" but found end of expression', (v) => v.length + 1],
      ["_function UPPER('abc)", 'unterminated string', (v) => charOf(v, "'")],
      ["_function UPPER('a') x", 'unexpected "x" after the expression', (v) => charOf(v, 'x')],
      ['_function UPPER(name)', 'expected "(" after "name"', (v) => charOf(v, ')')],
      ['_function UPPER(@)', 'unexpected character "@"', (v) => charOf(v, '@')],
      ['_function ', 'expected an expression after "_function"', (v) => v.length + 1],
      ["_function CONCAT('it''s {{bad}}')", 'unknown variable "bad"', (v) => charOf(v, 'bad')],
      ["_function CONCAT('a\\tb', '{fob..x}')", 'invalid product path', (v) => charOf(v, '.', 2)],
      ['_function UPPER({{nope}})', 'unknown variable "nope"', (v) => charOf(v, 'nope')],
      ["_function LOWER({name)", 'unclosed "{"', (v) => charOf(v, '{')],
    ];
    for (const [value, message, pos] of cases) {
      it(`${JSON.stringify(value)} → ${message}`, () => {
        const p = valueProblem(value);
        expect(p).to.include(message);
        expect(p).to.match(new RegExp(` at char ${pos(value)}$`));
      });
    }

    it('reports every unknown function in one expression', () => {
      const problems = problemsOf({ request: [KEY, { field: 'x', value: "_function FOO(BAR('a'), UPPER('b'), BAZ())" }] });
      expect(problems.map((p) => /unknown function "(\w+)"/.exec(p)?.[1])).to.deep.equal(['BAR', 'BAZ', 'FOO']);
    });

    it('refuses pathological nesting instead of overflowing the stack', () => {
      const deep = `_function ${'UPPER('.repeat(200)}'a'${')'.repeat(200)}`;
      expect(valueProblem(deep)).to.include('nested deeper than');
    });
  });

  describe('entry shape', () => {
    it('reports bad types, unknown keys, missing values and wrong required flags, all at once', () => {
      const problems = problemsOf({
        request: [
          KEY,
          { field: 'a', value: '{x}', type: 'integer' },
          { field: 'b', value: 12 },
          { field: 'c', value: '{x}', requried: true },
          { field: 'd', value: '{x}', required: 'yes' },
          { label: '无字段', value: '{x}' },
          'not an object',
        ],
      });
      expect(problems).to.have.length(6);
      expect(problems[0]).to.include('request[1] (a): type: expected one of string, number, date, array, got "integer"');
      expect(problems[1]).to.include('request[2] (b): value: expected a template string');
      expect(problems[2]).to.include('request[3] (c): unknown key "requried"');
      expect(problems[3]).to.include('request[4] (d): required: expected true or false');
      expect(problems[4]).to.include('request[5] "无字段": field: expected the Yida field id');
      expect(problems[5]).to.include('request[6]: expected an object');
    });

    it('rejects a type that contradicts the componentName, and unknown components without a type', () => {
      const problems = problemsOf({
        request: [KEY, { field: 'n', value: '{x}', type: 'date', componentName: 'NumberField' }, { field: 'm', value: '{x}', componentName: 'FancyField' }],
      });
      expect(problems[0]).to.include('type "date" does not fit componentName NumberField (which takes number)');
      expect(problems[1]).to.include('unknown component "FancyField"');
    });

    it('accepts an unknown component when the type is given, and keys starting with _ as comments', () => {
      expect(() => parseMapping({ _note: '产品表单', request: [KEY, { field: 'i', value: '{images}', componentName: 'ImageField', type: 'array', _why: 'x' }] })).not.to.throw();
    });

    it('rejects documents without a request list, and unknown top-level keys', () => {
      expect(problemsOf([])[0]).to.include('expected a JSON object');
      expect(problemsOf({ request: [] })[0]).to.include('request: expected a non-empty array');
      expect(problemsOf({ requests: [KEY] })).to.have.length(2);
    });
  });

  describe('key field', () => {
    it('defaults to the entry whose value is exactly {product_no}', () => {
      expect(parseMapping({ request: [{ field: 'a', value: '{name}' }, { field: 'b', value: ' { product_no } ' }] }).keyField).to.equal('b');
    });

    it('a top-level keyField names it explicitly', () => {
      const mapping = parseMapping({ keyField: 'code', request: [{ field: 'code', value: 'OKKI-{product_no}' }, { field: 'b', value: '{product_no}' }] });
      expect(mapping.keyField).to.equal('code');
    });

    it('is required', () => {
      const problems = problemsOf({ request: [{ field: 'a', value: 'P-{product_no}' }] });
      expect(problems).to.have.length(1);
      expect(problems[0]).to.include('missing key field');
    });

    it('must be an existing entry of type string', () => {
      expect(problemsOf({ keyField: 'zzz', request: [KEY] })[0]).to.include('keyField "zzz" is not the field of any request entry');
      expect(problemsOf({ request: [{ field: 'numberField_no', value: '{product_no}' }] })[0]).to.include('the key field must have type string, not number');
    });
  });

  describe('loadMapping', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mapping-test-'));

    it('names the file and the reason when it cannot be read', () => {
      const path = join(dir, 'missing.json');
      expect(() => loadMapping(path)).to.throw(MappingError, /missing\.json[\s\S]*cannot read the mapping file \(ENOENT\)/);
    });

    it('reports JSON syntax errors with line and column where the parser gives a position', () => {
      const path = join(dir, 'broken.json');
      writeFileSync(path, '{"request": [\n  {"field": "a" "value": "{product_no}"}\n]}');
      expect(() => loadMapping(path)).to.throw(MappingError, /not valid JSON at line 2, column 17/);
    });

    it('tolerates a UTF-8 byte-order mark', () => {
      const path = join(dir, 'bom.json');
      writeFileSync(path, `\uFEFF${JSON.stringify({ request: [KEY] })}`);
      expect(loadMapping(path).keyField).to.equal('textField_key');
    });
  });

  describe('mapping file forms (as users paste them from an integration platform)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mapping-forms-'));
    const NAME = { field: 'textField_name', label: '产品名称', value: '{name}' };
    const entries = JSON.stringify([KEY, NAME]);
    const load = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      const warnings: string[] = [];
      const mapping = loadMapping(path, { warn: (w) => warnings.push(w) });
      return { mapping, warnings };
    };
    const mapsLikeTheObjectForm = (m: ReturnType<typeof loadMapping>) => {
      expect(m.keyField).to.equal('textField_key');
      expect(m.fields.map((f) => f.field)).to.deep.equal(['textField_key', 'textField_name']);
    };

    it('{"request":[...]} (the documented form)', () => {
      const { mapping, warnings } = load('object.json', `{"request":${entries}}`);
      mapsLikeTheObjectForm(mapping);
      expect(warnings).to.deep.equal([]);
    });

    it('a bare JSON array of entries', () => {
      const { mapping, warnings } = load('array.json', `\uFEFF${entries}\n`);
      mapsLikeTheObjectForm(mapping);
      expect(warnings).to.deep.equal([]);
    });

    it('the text "request":[...] as the platform shows it (not JSON on its own), with or without a trailing comma', () => {
      mapsLikeTheObjectForm(load('fragment.txt', `"request":${entries}`).mapping);
      mapsLikeTheObjectForm(load('fragment-comma.txt', `\n  "request": ${entries},\n`).mapping);
    });

    it('"request":[...],"otherRequest":[...]: otherRequest is ignored with a warning, and its values are secrets never shown', () => {
      const other = [{ field: 'appKey', label: 'AppKey', value: 'platform-app-key-VALUE-1' }, { field: 'appSecret', value: 'platform-secret-VALUE-2' }];
      const { mapping, warnings } = load('with-other.txt', `"request":${entries},"otherRequest":${JSON.stringify(other)}`);
      mapsLikeTheObjectForm(mapping);
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.match(/"otherRequest" block \(2 entries\) is ignored/);
      for (const w of warnings) expect(w).not.to.match(/VALUE/);
      // from now on no log line, error or record can show them
      expect(redact('appKey=platform-app-key-VALUE-1 secret platform-secret-VALUE-2')).to.equal('appKey=*** secret ***');
      // the same block inside an object is ignored the same way
      expect(load('object-other.json', `{"request":${entries},"otherRequest":${JSON.stringify(other)}}`).warnings).to.have.length(1);
    });

    it('a syntax error in a pasted text names line and column and never quotes the text (it may hold otherRequest secrets)', () => {
      const path = join(dir, 'broken-other.txt');
      writeFileSync(path, `"request":${entries},\n"otherRequest":[{"field":"appSecret","value":"leaky-secret-VALUE" x}]`);
      let message = '';
      try { loadMapping(path); } catch (e) { message = (e as Error).message; }
      expect(message).to.match(/not valid JSON/);
      expect(message).not.to.include('leaky-secret-VALUE');
    });

    it('anything else is still refused with a clear message', () => {
      const path = join(dir, 'number.json');
      writeFileSync(path, '42');
      expect(() => loadMapping(path)).to.throw(MappingError, /a bare array of such entries, or the text "request":\[\.\.\.\]/);
    });
  });
});
