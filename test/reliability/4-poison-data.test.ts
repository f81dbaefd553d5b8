/**
 * Scenario 4 — poison data in the catalogue. Products without a product_no, with null or wrong-typed values in fields
 * the mapping requires, two rows with the same product number on one page, a 1 MB description, emoji, astral
 * characters and control characters — beside 200 ordinary products on the same pages. Each poison product is either
 * synced with its values or rejected with a reason (GET /runs/:id failures); the ordinary ones are unaffected.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { startOkkiSimulator, type OkkiSimulator } from '../../src/sandbox/okki/index.js';
import { startDingtalkSimulator, type DingtalkSimulator } from '../../src/sandbox/dingtalk/index.js';
import type { RunRecord } from '../../src/core/index.js';
import {
  auditAdd, crashLines, recordFigure, secondsSince, serviceEnv, spawnService, tally, tempDir, triggerFresh, waitForRunEnd, writeJson,
  type ServiceProcess,
} from '../helpers/reliability.js';

const SEED = 8401;
const ORDINARY = 200;
const KEY_FIELD = 'textField_no';
const MAPPING = {
  request: [
    { field: 'textField_name', label: '产品名称', value: '{name}', required: true },
    { field: KEY_FIELD, label: '产品编码', value: '{product_no}' },
    { field: 'numberField_volume', label: '体积', value: '{package_volume}', required: true },
    { field: 'textareaField_desc', label: '描述', value: '{description}' },
  ],
};

// about 1 MiB of UTF-8, mixed one- and three-byte characters
const ONE_MB = '产品描述 description — 很长的文字。'.repeat(Math.ceil((1 << 20) / Buffer.byteLength('产品描述 description — 很长的文字。')));

interface Poison {
  label: string;
  product: Record<string, unknown>;
  /** the number the connector should know it by (trimmed), null when it has none */
  no: string | null;
  /** for rows without a number (which a failure cannot name): the reason that tells them apart */
  reason?: RegExp;
}

const POISON: Poison[] = [
  { label: 'empty product_no', no: null, reason: /empty/, product: { product_id: 7_000_001, product_no: '', name: '没有编码', package_volume: '1' } },
  { label: 'no product_no at all', no: null, reason: /missing/, product: { product_id: 7_000_002, name: '没有编码字段', package_volume: '1' } },
  { label: 'required name null', no: 'X-NULL-NAME', product: { product_no: 'X-NULL-NAME', name: null, package_volume: '2' } },
  { label: 'required name empty', no: 'X-EMPTY-NAME', product: { product_no: 'X-EMPTY-NAME', name: '', package_volume: '2' } },
  { label: 'number field text', no: 'X-NUM-TEXT', product: { product_no: 'X-NUM-TEXT', name: '体积是文字', package_volume: 'abc' } },
  { label: 'number field object', no: 'X-NUM-OBJ', product: { product_no: 'X-NUM-OBJ', name: '体积是对象', package_volume: { value: 1 } } },
  { label: 'number field null', no: 'X-NUM-NULL', product: { product_no: 'X-NUM-NULL', name: '体积为空', package_volume: null } },
  { label: 'number field array', no: 'X-NUM-ARR', product: { product_no: 'X-NUM-ARR', name: '体积是数组', package_volume: [1, 2] } },
  { label: 'name is a number', no: 'X-NAME-NUM', product: { product_no: 'X-NAME-NUM', name: 12345, package_volume: '3' } },
  { label: 'name is an object', no: 'X-NAME-OBJ', product: { product_no: 'X-NAME-OBJ', name: { zh: '对象' }, package_volume: '3' } },
  { label: 'duplicate number, first row', no: 'X-DUP', product: { product_no: 'X-DUP', name: '第一份', package_volume: '4' } },
  { label: 'duplicate number, second row (trailing space)', no: 'X-DUP', product: { product_no: 'X-DUP ', name: '第二份', package_volume: '5' } },
  { label: '1 MB description', no: 'X-BIG', product: { product_no: 'X-BIG', name: '大描述', package_volume: '6', description: ONE_MB } },
  { label: 'emoji and astral characters', no: 'X-EMOJI-🚀', product: { product_no: 'X-EMOJI-🚀', name: '火箭🚀 家庭👩‍👩‍👧 𠮷野家', package_volume: '7', description: '表情😀\n第二行\t制表' } },
  { label: 'control characters', no: 'X-CTRL', product: { product_no: 'X-CTRL', name: 'bell\u0007 esc\u001b[31m nul\u0000 del\u007f', package_volume: '8', description: 'sep\u2028\u2029 bom\ufeff' } },
  { label: 'control character in the product number', no: 'X-CTRL-\u0007NO', product: { product_no: 'X-CTRL-\u0007NO', name: '编码含控制字符', package_volume: '9' } },
  { label: 'full-width product number', no: 'Ｘ－全角', product: { product_no: 'Ｘ－全角', name: '全角编码', package_volume: '10' } },
  { label: '300-character product number', no: `X-${'L'.repeat(298)}`, product: { product_no: `X-${'L'.repeat(298)}`, name: '超长编码', package_volume: '11' } },
  { label: 'injection-looking values', no: 'X-INJECT"}', product: { product_no: 'X-INJECT"}', name: '{{一级分组}} {name} <script>alert(1)</script> ${x}', package_volume: '12' } },
];

describe('reliability 4: poison data beside ordinary products', function () {
  this.timeout(120_000);
  let okki: OkkiSimulator;
  let dt: DingtalkSimulator;
  let svc: ServiceProcess | undefined;

  before(async () => {
    okki = await startOkkiSimulator({ seed: SEED, products: ORDINARY, spanDays: 0.01 });
    okki.catalog.upsert(POISON.map((p) => p.product));
    dt = await startDingtalkSimulator({ seed: SEED });
  });
  after(async () => {
    await svc?.kill();
    await dt?.close();
    await okki?.close();
  });

  it('syncs or rejects each poison product with a reason, and leaves the others unaffected', async () => {
    const t0 = Date.now();
    const dir = tempDir('poison');
    svc = await spawnService('poison', serviceEnv({
      okki, dt, storeUrl: `sqlite://${join(dir, 'poison.sqlite')}`, apiKey: 'poison-api-key-0123456789',
      mappingFile: writeJson(dir, 'mapping.json', MAPPING), extra: { OKKI_PAGE_SIZE: '50' },
    }));
    const runs: RunRecord[] = [];
    let previous: string | undefined;
    for (let i = 0; i < 2; i++) {
      const t = await triggerFresh(svc, previous);
      previous = t.runId;
      runs.push(await waitForRunEnd(svc, t.runId, 60_000));
    }
    auditAdd('poison run records', () => [], () => runs.map((r) => JSON.stringify(r)));

    const outcomes: string[] = [];
    let unexplained = 0;
    const instancesOf = (no: string) => dt.instances().filter((x) => x.data[KEY_FIELD] === no);
    for (const run of runs) {
      expect(run.status, JSON.stringify(run.error)).to.equal('partial');
      expect(run.counts.failed, `write failures: ${JSON.stringify(run.failures.filter((f) => !f.code.includes('REJECT') && !f.code.includes('INVALID')))}`).to.equal(0);
    }
    const first = runs[0];
    const numberless = first.failures.filter((f) => f.product_no === null);
    expect(numberless, 'one rejection per row without a product number').to.have.length(POISON.filter((p) => p.no === null).length);
    for (const p of POISON) {
      const rejection = p.no === null ? numberless.find((f) => p.reason!.test(f.reason)) : first.failures.find((f) => f.product_no === p.no);
      const synced = p.no === null ? [] : instancesOf(p.no);
      let outcome: string;
      if (p.no === 'X-DUP') {
        // Two OKKI products claim one number: one row is synced whole (never a mix), the other rejected by name.
        expect(synced, 'the duplicated number has one instance').to.have.length(1);
        const d = synced[0].data;
        expect([['第一份', 4], ['第二份', 5]], 'the duplicate holds one of its rows').to.deep.include([d.textField_name, d.numberField_volume]);
        expect(rejection?.code, 'the other row is rejected').to.equal('DUPLICATE_PRODUCT_NO');
        outcome = `one row synced (${JSON.stringify(d.textField_name)}), the other rejected ${rejection!.code}: ${rejection!.reason.slice(0, 70)}`;
      } else if (synced.length === 1 && !rejection) {
        const d = synced[0].data;
        const name = typeof p.product.name === 'string' ? p.product.name : p.product.name;
        outcome = `synced: name ${JSON.stringify(d.textField_name).slice(0, 60)}`;
        if (typeof name === 'string') expect(d.textField_name, `${p.label}: name as in OKKI`).to.equal(name);
        expect(d.numberField_volume, `${p.label}: volume`).to.equal(Number(p.product.package_volume));
        if (typeof p.product.description === 'string') expect(d.textareaField_desc, `${p.label}: description as in OKKI`).to.equal(p.product.description);
      } else if (synced.length === 0 && rejection) {
        expect(rejection.reason, `${p.label}: rejected without a reason`).to.be.a('string').and.not.equal('');
        expect(rejection.code).to.be.a('string').and.not.equal('');
        outcome = `rejected ${rejection.code}: ${rejection.reason.slice(0, 90)}`;
      } else {
        unexplained++;
        outcome = `UNEXPLAINED: ${synced.length} instances, rejection ${JSON.stringify(rejection)}`;
      }
      outcomes.push(`${p.label.padEnd(46)} → ${outcome}`);
    }
    // eslint-disable-next-line no-console
    console.log(outcomes.map((o) => `      ${o}`).join('\n'));
    // eslint-disable-next-line no-console
    console.log(runs.map((r, i) => `      run ${i + 1}: ${r.status} ${JSON.stringify(r.counts)}`).join('\n'));

    // the ordinary products: exactly one instance each, with their values
    const ordinary = [...okki.catalog.all()].filter((p) => /^P-\d{6}$/.test(p.product_no));
    expect(ordinary).to.have.length(ORDINARY);
    const wrong = ordinary.filter((p) => {
      const inst = instancesOf(p.product_no);
      return inst.length !== 1 || inst[0].data.textField_name !== p.name || inst[0].data.numberField_volume !== Number(p.package_volume) || inst[0].data.textareaField_desc !== p.description;
    }).map((p) => p.product_no);
    const keys = [...ordinary.map((p) => p.product_no), ...POISON.filter((p) => p.no !== null).map((p) => p.no!)];
    const { duplicates, duplicated } = tally(dt, KEY_FIELD, keys);
    const alive = (await svc.api.healthz()) === 200;
    await svc.stop();

    recordFigure({
      scenario: '4 poison data (no number, null/wrong types, duplicates, 1 MB, emoji, control chars)', iterations: '2 runs',
      products: `${ORDINARY} + ${POISON.length} poison`, missing: wrong.length, duplicates,
      result: unexplained === 0 && wrong.length === 0 && duplicates === 0 ? `pass (${first.counts.rejected} rejected with reasons, rest synced)` : 'FAIL',
      seconds: secondsSince(t0),
    });
    expect(unexplained, 'poison products neither synced nor rejected with a reason').to.equal(0);
    expect(wrong, 'ordinary products affected').to.deep.equal([]);
    expect(duplicated, 'numbers with more than one instance').to.deep.equal([]);
    expect(first.counts.created + first.counts.rejected, 'every row accounted for').to.equal(first.counts.fetched - (first.counts.updated + first.counts.unchanged));
    expect(alive).to.equal(true);
    expect(crashLines(svc)).to.deep.equal([]);
  });
});
