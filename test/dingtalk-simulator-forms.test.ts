/**
 * Plain-form routes of the DingTalk simulator, driven by the REAL @alicloud/dingtalk SDK over loopback sockets:
 * save/update/batch writes, the exact search with its paging cap, id search, reads by id, deletes, definitions.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { startDingtalkSimulator, type DingtalkSimulator } from '../src/sandbox/dingtalk/index.js';
import { rejection, sdkFor } from './helpers/dingtalk-sim-sdk.js';

const KEY = 'textField_productNo';
const PLAIN = 'FORM-SIMPLAIN0001';
const eq = (value: string, key = KEY) => [{ key, value, type: 'TEXT', operator: 'eq', componentName: 'TextField' }];

describe('DingTalk simulator: plain forms through the real SDK', function () {
  let sim: DingtalkSimulator;
  let sdk: ReturnType<typeof sdkFor>;
  let t: string;

  before(async () => {
    sim = await startDingtalkSimulator({ plainForms: [PLAIN] });
    sdk = sdkFor(sim);
  });
  after(() => sim.close());
  beforeEach(async () => { sim.reset(); t = await sdk.token(); });

  describe('single writes', () => {
    it('saveFormData creates a form instance (not a process instance) and answers its FINST- id', async () => {
      const id = await sdk.save(t, PLAIN, { [KEY]: 'P-001', textField_name: '螺丝' });
      expect(id).to.match(/^FINST-[A-Z0-9]{20,}$/);
      expect(sim.instanceCount()).to.equal(0);
      const [inst] = sim.formInstances({ formUuid: PLAIN });
      expect(inst).to.include({ formInstanceId: id, formUuid: PLAIN });
      expect(inst.data).to.deep.equal({ [KEY]: 'P-001', textField_name: '螺丝' });
    });

    it('updateFormData merges the fields; an unknown id is refused', async () => {
      const id = await sdk.save(t, PLAIN, { [KEY]: 'P-001', textField_name: 'old', numberField_price: 1 });
      const res = await sdk.update(t, id, { textField_name: 'new' });
      expect(res.statusCode).to.equal(200);
      expect(sim.formInstances()[0].data).to.deep.equal({ [KEY]: 'P-001', textField_name: 'new', numberField_price: 1 });
      expect(sim.formInstances()[0].version).to.equal(2);
      const missing = await rejection(sdk.update(t, 'FINST-NOPE', { a: 1 }));
      expect(missing.statusCode).to.equal(400);
      expect(missing.code).to.equal('InvalidParameter.FormInstanceId');
    });

    it('keeps plain forms and process forms apart, and refuses unknown forms', async () => {
      expect((await rejection(sdk.save(t, sim.yida.formUuid, { a: 1 }))).code).to.equal('InvalidParameter.FormUuid');
      expect((await rejection(sdk.start(t, { a: 1 }, PLAIN))).code).to.equal('InvalidParameter.FormUuid');
      expect((await rejection(sdk.save(t, 'FORM-UNKNOWN', { a: 1 }))).code).to.equal('InvalidParameter.FormUuid');
      const badToken = await rejection(sdk.yida.saveFormDataWithOptions(
        new (await import('./helpers/dingtalk-sim-sdk.js')).$yida.SaveFormDataRequest({ ...sdk.target(), systemToken: 'nope', formUuid: PLAIN, formDataJson: '{}' }),
        { xAcsDingtalkAccessToken: t } as any, sdk.rt()));
      expect(badToken.code).to.equal('InvalidParameter.SystemToken');
      expect(sim.formInstanceCount()).to.equal(0);
    });

    it('a simulator started with formKind plain serves its main form as a plain form', async () => {
      const other = await startDingtalkSimulator({ formKind: 'plain' });
      try {
        const s = sdkFor(other);
        const tok = await s.token();
        const id = await s.save(tok, other.yida.formUuid, { [KEY]: 'P-9' });
        expect(other.formInstances({ formUuid: other.yida.formUuid }).map((i) => i.formInstanceId)).to.deep.equal([id]);
        expect((await rejection(s.start(tok, { [KEY]: 'P-9' }))).code).to.equal('InvalidParameter.FormUuid');
      } finally { await other.close(); }
    });
  });

  describe('batch writes', () => {
    it('batchSaveFormData saves every record and answers the new ids in input order', async () => {
      const ids = await sdk.batchSave(t, PLAIN, [{ [KEY]: 'A' }, { [KEY]: 'B' }, { [KEY]: 'C' }]);
      expect(ids).to.have.length(3);
      expect(ids.map((id) => sim.formInstances().find((i) => i.formInstanceId === id)!.data[KEY])).to.deep.equal(['A', 'B', 'C']);
    });

    it('refuses more than batchMax records, an empty list and a record that is not a JSON object, saving nothing', async () => {
      const many = Array.from({ length: 101 }, (_, i) => ({ [KEY]: `P-${i}` }));
      expect((await rejection(sdk.batchSave(t, PLAIN, many))).statusCode).to.equal(400);
      expect((await rejection(sdk.batchSave(t, PLAIN, []))).statusCode).to.equal(400);
      const badJson = await rejection(sdk.yida.batchSaveFormDataWithOptions(
        new (await import('./helpers/dingtalk-sim-sdk.js')).$yida.BatchSaveFormDataRequest({ ...sdk.target(), formUuid: PLAIN, formDataJsonList: ['{"a":1}', '[1]'] }),
        { xAcsDingtalkAccessToken: t } as any, sdk.rt()));
      expect(badJson.statusCode).to.equal(400);
      expect(sim.formInstanceCount()).to.equal(0);
      sim.setKnobs({ batchMax: 2 });
      expect((await rejection(sdk.batchSave(t, PLAIN, many.slice(0, 3)))).statusCode).to.equal(400);
    });

    it('batchUpdateFormDataByInstanceMap answers the ids it updated; unknown ids are not updated', async () => {
      const [a, b] = await sdk.batchSave(t, PLAIN, [{ [KEY]: 'A', textField_name: 'a' }, { [KEY]: 'B', textField_name: 'b' }]);
      const done = await sdk.batchUpdate(t, PLAIN, { [a]: { textField_name: 'a2' }, 'FINST-GHOST': { textField_name: 'x' }, [b]: { textField_name: 'b2' } });
      expect(done).to.have.members([a, b]).and.have.length(2);
      expect(sim.formInstances().map((i) => i.data.textField_name).sort()).to.deep.equal(['a2', 'b2']);
      expect(sim.formInstanceCount()).to.equal(2);
    });

    it('batchUpdate with ignoreEmpty keeps the fields sent empty', async () => {
      const [a] = await sdk.batchSave(t, PLAIN, [{ [KEY]: 'A', textField_name: 'keep', numberField_price: 3 }]);
      await sdk.batchUpdate(t, PLAIN, { [a]: { textField_name: '', numberField_price: 4 } }, { ignoreEmpty: true });
      expect(sim.formInstances()[0].data).to.deep.include({ textField_name: 'keep', numberField_price: 4 });
      await sdk.batchUpdate(t, PLAIN, { [a]: { textField_name: '' } }, { ignoreEmpty: false });
      expect(sim.formInstances()[0].data.textField_name).to.equal('');
    });
  });

  describe('searchFormDataSecondGeneration', () => {
    it('finds exactly with eq and fuzzily with like, with the response model fields', async () => {
      const [a] = await sdk.batchSave(t, PLAIN, [{ [KEY]: 'P-001', textField_name: '螺丝' }, { [KEY]: 'P-0012' }, { [KEY]: 'Q-1' }]);
      const exact = await sdk.search(t, PLAIN, { searchCondition: eq('P-001') });
      expect(exact.totalCount).to.equal(1);
      expect(exact.pageNumber).to.equal(1);
      const [hit] = exact.data!;
      expect(hit.formInstanceId).to.equal(a);
      expect(hit.formUuid).to.equal(PLAIN);
      expect(hit.formData).to.deep.equal({ [KEY]: 'P-001', textField_name: '螺丝' });
      expect(hit.createTimeGMT).to.match(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$/);
      expect(hit.modifiedTimeGMT).to.match(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$/);
      expect(hit.originator!.userId).to.equal(sim.yida.userId);
      expect(hit.creatorUserId).to.equal(sim.yida.userId);
      const like = await sdk.search(t, PLAIN, { searchCondition: [{ key: KEY, value: 'P-001', type: 'TEXT', operator: 'like', componentName: 'TextField' }] });
      expect(like.totalCount).to.equal(2);
      const inList = await sdk.search(t, PLAIN, { searchCondition: [{ key: KEY, value: ['P-001', 'Q-1'], operator: 'in' }] });
      expect(inList.totalCount).to.equal(2);
    });

    it('gmtPrecision second/millisecond changes the time format', async () => {
      await sdk.save(t, PLAIN, { [KEY]: 'A' });
      sim.setKnobs({ gmtPrecision: 'second' });
      expect((await sdk.search(t, PLAIN)).data![0].createTimeGMT).to.match(/T\d{2}:\d{2}:\d{2}Z$/);
      sim.setKnobs({ gmtPrecision: 'millisecond' });
      expect((await sdk.search(t, PLAIN)).data![0].createTimeGMT).to.match(/T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    });

    it('filters createTime and modifiedTime by gt ge lt le between (ms numbers and date strings)', async () => {
      const base = Date.UTC(2025, 0, 10, 0, 0, 0);
      const day = 86_400_000;
      const ids = sim.seedFormInstances(PLAIN, [0, 1, 2, 3].map((i) => ({ data: { [KEY]: `D-${i}` }, createTime: base + i * day })));
      const keys = async (cond: unknown[]) => (await sdk.search(t, PLAIN, { searchCondition: cond, orderConfigJson: { gmt_create: '+' } })).data!.map((d) => d.formData![KEY]);
      expect(await keys([{ key: 'createTime', value: base + day, operator: 'gt' }])).to.deep.equal(['D-2', 'D-3']);
      expect(await keys([{ key: 'createTime', value: base + day, operator: 'ge' }])).to.deep.equal(['D-1', 'D-2', 'D-3']);
      expect(await keys([{ key: 'createTime', value: base + day, operator: 'lt' }])).to.deep.equal(['D-0']);
      expect(await keys([{ key: 'createTime', value: base + day, operator: 'le' }])).to.deep.equal(['D-0', 'D-1']);
      expect(await keys([{ key: 'createTime', value: [base + day, base + 2 * day], operator: 'between' }])).to.deep.equal(['D-1', 'D-2']);
      // zone-less strings are Beijing time by default: 2025-01-11 08:00 +08:00 = base + 1 day
      expect(await keys([{ key: 'createTime', value: ['2025-01-11 08:00:00', '2025-01-12 08:00:00'], operator: 'between' }])).to.deep.equal(['D-1', 'D-2']);
      expect(await keys([{ key: 'createTime', value: new Date(base + 3 * day).toISOString(), operator: 'ge' }])).to.deep.equal(['D-3']);
      sim.plantEdit(ids[0], { textField_name: 'edited' });
      expect(await keys([{ key: 'modifiedTime', value: Date.now() - 60_000, operator: 'ge' }])).to.deep.equal(['D-0']);
      // the request-level filters do the same
      const res = await sdk.search(t, PLAIN, { createFromTimeGMT: new Date(base + 2 * day).toISOString(), orderConfigJson: { gmt_create: '+' } });
      expect(res.data!.map((d) => d.formData![KEY])).to.deep.equal(['D-2', 'D-3']);
    });

    it('orders newest first by default and by orderConfigJson on request', async () => {
      const base = Date.UTC(2025, 0, 1);
      sim.seedFormInstances(PLAIN, [{ data: { [KEY]: 'old', numberField_price: 2 }, createTime: base }, { data: { [KEY]: 'new', numberField_price: 1 }, createTime: base + 1000 }]);
      expect((await sdk.search(t, PLAIN)).data!.map((d) => d.formData![KEY])).to.deep.equal(['new', 'old']);
      expect((await sdk.search(t, PLAIN, { orderConfigJson: { gmt_create: '+' } })).data!.map((d) => d.formData![KEY])).to.deep.equal(['old', 'new']);
      expect((await sdk.search(t, PLAIN, { orderConfigJson: { numberField_price: '-' } })).data!.map((d) => d.formData![KEY])).to.deep.equal(['old', 'new']);
    });

    it('pages with pageNumber/pageSize (at most 100) and refuses to page past 5,000 rows', async () => {
      sim.seedFormInstances(PLAIN, Array.from({ length: 5050 }, (_, i) => ({ data: { [KEY]: `P-${i}` } })));
      const p1 = await sdk.search(t, PLAIN, { pageNumber: 1, pageSize: 100 });
      expect(p1.totalCount).to.equal(5050);
      expect(p1.data).to.have.length(100);
      expect((await sdk.search(t, PLAIN, { pageNumber: 50, pageSize: 100 })).data).to.have.length(100);
      const past = await rejection(sdk.search(t, PLAIN, { pageNumber: 51, pageSize: 100 }));
      expect(past.statusCode).to.equal(400);
      expect(past.code).to.equal('invalidState.openSearch.cursorExceedFiveThousand');
      expect((await rejection(sdk.search(t, PLAIN, { pageSize: 101 }))).statusCode).to.equal(400);
      // the cap is on paging, not on what a narrower query finds
      expect((await sdk.search(t, PLAIN, { searchCondition: eq('P-5049') })).totalCount).to.equal(1);
    });

    it('refuses a malformed searchCondition or orderConfigJson with 400', async () => {
      expect((await rejection(sdk.search(t, PLAIN, { searchCondition: '[{oops' }))).statusCode).to.equal(400);
      expect((await rejection(sdk.search(t, PLAIN, { searchCondition: [{ key: KEY, value: 'x', operator: 'near' }] }))).code).to.equal('InvalidParameter.SearchCondition');
      expect((await rejection(sdk.search(t, PLAIN, { orderConfigJson: { gmt_create: 'up' } }))).statusCode).to.equal(400);
    });
  });

  describe('ids and reads by id', () => {
    it('searchFormDataIdList pages ids, fuzzy with a map and exact with an array', async () => {
      const [a, b] = await sdk.batchSave(t, PLAIN, [{ [KEY]: 'P-001' }, { [KEY]: 'P-0012' }, { [KEY]: 'Q' }]);
      const fuzzy = await sdk.idList(t, PLAIN, { searchFieldJson: JSON.stringify({ [KEY]: 'P-001' }) });
      expect(fuzzy.totalCount).to.equal(2);
      expect(fuzzy.data).to.have.members([a, b]);
      const exact = await sdk.idList(t, PLAIN, { searchFieldJson: JSON.stringify(eq('P-001')) });
      expect(exact.data).to.deep.equal([a]);
      const page2 = await sdk.idList(t, PLAIN, { pageNumber: 2, pageSize: 2 });
      expect(page2).to.deep.include({ totalCount: 3, pageNumber: 2 });
      expect(page2.data).to.have.length(1);
      expect((await rejection(sdk.idList(t, PLAIN, {}, 'APP_OTHER'))).code).to.equal('InvalidParameter.AppType');
    });

    it('batchGetFormDataByIdList answers the records found, current (never lagged)', async () => {
      sim.setKnobs({ searchLagMs: 60_000 });
      const [a, b] = await sdk.batchSave(t, PLAIN, [{ [KEY]: 'A' }, { [KEY]: 'B' }]);
      const got = await sdk.batchGet(t, PLAIN, [b, 'FINST-GHOST', a]);
      expect(got.map((g) => g.formInstanceId)).to.deep.equal([b, a]);
      expect(got[0].formData).to.deep.equal({ [KEY]: 'B' });
      expect(got[0].createTimeGMT).to.be.a('string');
      const bare = await sdk.batchGet(t, PLAIN, [a], false);
      expect(bare[0].formData).to.equal(undefined);
    });
  });

  describe('deletes', () => {
    it('deleteFormData removes one instance; an unknown id is an error unless deleteMissing is ok', async () => {
      const [a, b] = await sdk.batchSave(t, PLAIN, [{ [KEY]: 'A' }, { [KEY]: 'B' }]);
      expect((await sdk.remove(t, a)).statusCode).to.equal(200);
      expect(sim.formInstances().map((i) => i.formInstanceId)).to.deep.equal([b]);
      const again = await rejection(sdk.remove(t, a));
      expect(again.statusCode).to.equal(400);
      expect(again.code).to.equal('InvalidParameter.FormInstanceId');
      sim.setKnobs({ deleteMissing: 'ok' });
      expect((await sdk.remove(t, a)).statusCode).to.equal(200);
    });

    it('batchRemovalByFormInstanceIdList removes the listed instances of the form (at most 500), skipping unknown ids', async () => {
      const ids = await sdk.batchSave(t, PLAIN, [{ [KEY]: 'A' }, { [KEY]: 'B' }, { [KEY]: 'C' }]);
      expect((await sdk.batchRemove(t, PLAIN, [ids[0], 'FINST-GHOST', ids[2]])).statusCode).to.equal(200);
      expect(sim.formInstances().map((i) => i.data[KEY])).to.deep.equal(['B']);
      const tooMany = Array.from({ length: 501 }, (_, i) => `FINST-${i}`);
      expect((await rejection(sdk.batchRemove(t, PLAIN, tooMany))).statusCode).to.equal(400);
      expect(sim.formInstanceCount()).to.equal(1);
    });
  });

  describe('getFormComponentDefinitionList', () => {
    it('answers the fields of the shipped mapping by default, with component names and labels', async () => {
      const manifest = JSON.parse(readFileSync(new URL('../manifest/mapping.json', import.meta.url), 'utf8')) as { request: Array<{ field: string; label: string }> };
      const defs = await sdk.definitions(t, PLAIN);
      for (const e of manifest.request) {
        const d = defs.find((f) => f.fieldId === e.field);
        expect(d, e.field).to.not.equal(undefined);
        expect(d!.label).to.equal(e.label);
        expect(d!.componentName).to.equal(e.field.startsWith('textareaField') ? 'TextareaField' : 'TextField');
      }
      // process forms have definitions too
      expect((await sdk.definitions(t, sim.yida.formUuid)).length).to.equal(defs.length);
    });

    it('answers the definitions a test sets (and the raw answer carries required)', async () => {
      sim.setFormFields(PLAIN, [{ fieldId: 'textField_a', componentName: 'TextField', label: 'A', required: true }, { fieldId: 'numberField_b', componentName: 'NumberField', label: 'B' }]);
      const defs = await sdk.definitions(t, PLAIN);
      expect(defs.map((d) => [d.fieldId, d.componentName, d.label])).to.deep.equal([['textField_a', 'TextField', 'A'], ['numberField_b', 'NumberField', 'B']]);
      const raw = await fetch(`${sim.url}/v1.0/yida/forms/definitions/${sim.yida.appType}/${PLAIN}?systemToken=${sim.yida.systemToken}&userId=${sim.yida.userId}`, { headers: { 'x-acs-dingtalk-access-token': t } });
      expect((await raw.json()).result[0]).to.deep.include({ fieldId: 'textField_a', required: true });
      const viaRoute = await fetch(`${sim.url}/__sim/forms/definitions`, { method: 'POST', body: JSON.stringify({ formUuid: PLAIN, fields: [{ fieldId: 'selectField_s' }] }) });
      expect((await viaRoute.json()).fields).to.deep.equal([{ fieldId: 'selectField_s', componentName: 'SelectField', label: 'selectField_s', required: false }]);
      expect((await sdk.definitions(t, PLAIN)).map((d) => d.fieldId)).to.deep.equal(['selectField_s']);
      expect((await rejection(sdk.definitions(t, 'FORM-NONE'))).code).to.equal('InvalidParameter.FormUuid');
    });
  });
});
