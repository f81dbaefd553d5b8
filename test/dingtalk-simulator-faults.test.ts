/**
 * Fault knobs on the plain-form routes of the DingTalk simulator, through the REAL SDK over loopback sockets:
 * throttling, 500s that did or did not execute, batches that commit a prefix, lost and late answers, record-level
 * refusals, shuffled batch answers and a lagging search index.
 */
import { expect } from 'chai';
import { startDingtalkSimulator, type DingtalkSimulator } from '../src/sandbox/dingtalk/index.js';
import { rejection, sdkFor } from './helpers/dingtalk-sim-sdk.js';

const KEY = 'textField_productNo';
const PLAIN = 'FORM-SIMPLAIN0001';
const recs = (n: number, prefix = 'P-') => Array.from({ length: n }, (_, i) => ({ [KEY]: `${prefix}${i}`, textField_name: `n${i}` }));
const keysOf = (sim: DingtalkSimulator) => sim.formInstances({ formUuid: PLAIN }).map((i) => String(i.data[KEY])).sort();
const eq = (value: string) => [{ key: KEY, value, type: 'TEXT', operator: 'eq', componentName: 'TextField' }];

describe('DingTalk simulator: fault knobs on the form routes (real SDK)', function () {
  let sim: DingtalkSimulator;
  let sdk: ReturnType<typeof sdkFor>;
  let t: string;

  before(async () => { sim = await startDingtalkSimulator({ plainForms: [PLAIN], seed: 7 }); sdk = sdkFor(sim); });
  after(() => sim.close());
  beforeEach(async () => { sim.reset(); t = await sdk.token(); });

  describe('throttling and plain errors', () => {
    it('over the hidden QPS limit batchSave answers 403 QpsLimitForAppkeyAndApi and saves nothing', async () => {
      sim.setKnobs({ qpsLimits: { 'yida.batchSaveFormData': 2 } });
      const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => sdk.batchSave(t, PLAIN, recs(2, `B${i}-`))));
      const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
      expect(refused.length).to.be.at.least(4);
      for (const e of refused) { expect(e.statusCode).to.equal(403); expect(e.code).to.equal('Forbidden.AccessDenied.QpsLimitForAppkeyAndApi'); }
      expect(sim.formInstanceCount()).to.equal(2 * (6 - refused.length));
      expect(sim.requests({ api: 'yida.batchSaveFormData' }).filter((r) => r.throttled)).to.have.length(refused.length);
    });

    it('throttles searches the Yida way when asked: 400 failure.operation.requestTooFast', async () => {
      sim.setKnobs({ qpsLimits: { 'yida.searchFormDataSecondGeneration': 1 }, throttleStyle: 'yida400' });
      const results = await Promise.allSettled([sdk.search(t, PLAIN), sdk.search(t, PLAIN), sdk.search(t, PLAIN)]);
      const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
      expect(refused).to.have.length(2);
      expect(refused[0].statusCode).to.equal(400);
      expect(refused[0].code).to.equal('failure.operation.requestTooFast');
    });

    it('errorRates answer 500 without executing, per API', async () => {
      sim.setKnobs({ errorRates: { 'yida.batchSaveFormData': 1 } });
      expect((await rejection(sdk.batchSave(t, PLAIN, recs(3)))).statusCode).to.equal(500);
      expect(sim.formInstanceCount()).to.equal(0);
      const id = await sdk.save(t, PLAIN, { [KEY]: 'single' }); // other APIs unaffected
      sim.setKnobs({ errorRates: { 'yida.deleteFormData': 1 } });
      expect((await rejection(sdk.remove(t, id))).statusCode).to.equal(500);
      expect(sim.formInstanceCount()).to.equal(1);
    });
  });

  describe('ambiguous batches', () => {
    it('commitThen500Rates: the whole batch is saved and the answer is 500', async () => {
      sim.setKnobs({ commitThen500Rates: { 'yida.batchSaveFormData': 1 } });
      const err = await rejection(sdk.batchSave(t, PLAIN, recs(4)));
      expect(err.statusCode).to.equal(500);
      expect(keysOf(sim)).to.deep.equal(['P-0', 'P-1', 'P-2', 'P-3']);
      expect(sim.requests({ api: 'yida.batchSaveFormData' })[0]).to.include({ status: 500, committed: true, committedCount: 4 });
    });

    it('prefixThen500Rates with batchPrefix half / a count / none commits that prefix, then 500', async () => {
      sim.setKnobs({ prefixThen500Rates: { 'yida.batchSaveFormData': 1 }, batchPrefix: 'half' });
      expect((await rejection(sdk.batchSave(t, PLAIN, recs(5, 'H')))).statusCode).to.equal(500);
      expect(keysOf(sim)).to.deep.equal(['H0', 'H1']);
      sim.setKnobs({ batchPrefix: 3 });
      await rejection(sdk.batchSave(t, PLAIN, recs(5, 'C')));
      expect(keysOf(sim).filter((k) => k.startsWith('C'))).to.deep.equal(['C0', 'C1', 'C2']);
      sim.setKnobs({ batchPrefix: 'none' });
      await rejection(sdk.batchSave(t, PLAIN, recs(5, 'N')));
      expect(keysOf(sim).filter((k) => k.startsWith('N'))).to.deep.equal([]);
      const committed = sim.requests({ api: 'yida.batchSaveFormData' }).map((r) => r.committedCount);
      expect(committed).to.deep.equal([2, 3, 0]);
    });

    it('batchPrefix random commits 0..n-1 records, never all, and varies', async () => {
      sim.setKnobs({ prefixThen500Rates: { 'yida.batchSaveFormData': 1 }, batchPrefix: 'random' });
      const seen = new Set<number>();
      for (let i = 0; i < 12; i++) {
        const before = sim.formInstanceCount();
        expect((await rejection(sdk.batchSave(t, PLAIN, recs(6, `R${i}-`)))).statusCode).to.equal(500);
        const n = sim.formInstanceCount() - before;
        expect(n).to.be.within(0, 5);
        expect(keysOf(sim).filter((k) => k.startsWith(`R${i}-`))).to.deep.equal(recs(n, `R${i}-`).map((r) => r[KEY]).sort());
        seen.add(n);
      }
      expect(seen.size).to.be.at.least(3);
    });

    it('prefix faults also hit batchUpdate and batchRemove', async () => {
      const ids = await sdk.batchSave(t, PLAIN, recs(4));
      sim.setKnobs({ prefixThen500Rates: { 'yida.batchUpdateFormDataByInstanceMap': 1, 'yida.batchRemovalByFormInstanceIdList': 1 }, batchPrefix: 2 });
      await rejection(sdk.batchUpdate(t, PLAIN, Object.fromEntries(ids.map((id) => [id, { textField_name: 'x' }]))));
      expect(sim.formInstances().filter((i) => i.data.textField_name === 'x')).to.have.length(2);
      expect((await rejection(sdk.batchRemove(t, PLAIN, ids))).statusCode).to.equal(500);
      expect(sim.formInstanceCount()).to.equal(2);
    });

    it('hangRates: the batch is saved and the answer comes after the client gave up', async () => {
      sim.setKnobs({ hangRates: { 'yida.batchSaveFormData': 1 }, hangMs: 1500 });
      const err = await rejection(sdk.batchSave(t, PLAIN, recs(3), {}, 200));
      expect(err.statusCode).to.equal(undefined);
      expect(String(err.name) + String(err.code)).to.match(/Timeout/);
      expect(sim.formInstanceCount()).to.equal(3);
      expect(sim.requests({ api: 'yida.batchSaveFormData' })[0]).to.include({ committed: true, committedCount: 3 });
    });

    it('resetRates: the batch is saved and the connection is reset without an answer', async () => {
      sim.setKnobs({ resetRates: { 'yida.batchSaveFormData': 1 } });
      const err = await rejection(sdk.batchSave(t, PLAIN, recs(3)));
      expect(err.statusCode).to.equal(undefined);
      expect(String(err.code) + String(err.message)).to.match(/ECONNRESET|socket hang up/);
      expect(sim.formInstanceCount()).to.equal(3);
    });

    it('batchResultOrder shuffled answers the same ids in another order', async () => {
      sim.setKnobs({ batchResultOrder: 'shuffled' });
      const ids = await sdk.batchSave(t, PLAIN, recs(20));
      const inputOrder = [...sim.formInstances()].sort((a, b) => a.seq - b.seq).map((i) => i.formInstanceId);
      expect(ids).to.have.members(inputOrder);
      expect(ids).to.not.deep.equal(inputOrder);
    });
  });

  describe('record-level refusals (a form rule: fieldMaxLength)', () => {
    const batch = () => [{ [KEY]: 'ok-1' }, { [KEY]: 'ok-2', textField_name: 'x'.repeat(11) }, { [KEY]: 'ok-3' }];

    it('with keepRunningAfterException the others are saved and only their ids answered', async () => {
      sim.setKnobs({ fieldMaxLength: { textField_name: 10 } });
      const ids = await sdk.batchSave(t, PLAIN, batch(), { keepRunningAfterException: true });
      expect(ids).to.have.length(2);
      expect(ids.map((id) => sim.formInstances().find((i) => i.formInstanceId === id)!.data[KEY])).to.deep.equal(['ok-1', 'ok-3']);
    });

    it('without it, batchRefusal rejectAll saves nothing and answers 400 exceedLengthLimit naming the record', async () => {
      sim.setKnobs({ fieldMaxLength: { textField_name: 10 } });
      const err = await rejection(sdk.batchSave(t, PLAIN, batch(), { keepRunningAfterException: false }));
      expect(err.statusCode).to.equal(400);
      expect(err.code).to.equal('exceedLengthLimit');
      expect(err.message).to.include('formDataJsonList[1]');
      expect(sim.formInstanceCount()).to.equal(0);
    });

    it('without it, batchRefusal commitPrefix keeps the records before the bad one', async () => {
      sim.setKnobs({ fieldMaxLength: { textField_name: 10 }, batchRefusal: 'commitPrefix' });
      expect((await rejection(sdk.batchSave(t, PLAIN, batch()))).code).to.equal('exceedLengthLimit');
      expect(keysOf(sim)).to.deep.equal(['ok-1']);
      expect(sim.requests({ api: 'yida.batchSaveFormData' })[0]).to.include({ committed: true, committedCount: 1 });
    });

    it('single saves and updates are refused; batchUpdate leaves the refused id out of its answer', async () => {
      const [a, b] = await sdk.batchSave(t, PLAIN, [{ [KEY]: 'A' }, { [KEY]: 'B' }]);
      sim.setKnobs({ fieldMaxLength: { textField_name: 3 } });
      expect((await rejection(sdk.save(t, PLAIN, { [KEY]: 'C', textField_name: 'long' }))).code).to.equal('exceedLengthLimit');
      expect((await rejection(sdk.update(t, a, { textField_name: 'long' }))).code).to.equal('exceedLengthLimit');
      expect(await sdk.batchUpdate(t, PLAIN, { [a]: { textField_name: 'long' }, [b]: { textField_name: 'ok' } })).to.deep.equal([b]);
      // length counts characters, not bytes
      expect(await sdk.save(t, PLAIN, { [KEY]: 'D', textField_name: '螺丝钉' })).to.match(/^FINST-/);
    });
  });

  describe('search lag', () => {
    it('a new record is invisible to searches for searchLagMs, then found', async () => {
      sim.setKnobs({ searchLagMs: 300 });
      const id = await sdk.save(t, PLAIN, { [KEY]: 'LAG' });
      expect((await sdk.search(t, PLAIN, { searchCondition: eq('LAG') })).totalCount).to.equal(0);
      expect((await sdk.idList(t, PLAIN)).totalCount).to.equal(0);
      expect((await sdk.batchGet(t, PLAIN, [id])).map((r) => r.formInstanceId)).to.deep.equal([id]);
      await new Promise((r) => setTimeout(r, 350));
      expect((await sdk.search(t, PLAIN, { searchCondition: eq('LAG') })).data!.map((d) => d.formInstanceId)).to.deep.equal([id]);
    });

    it('a fresh edit shows the old values and a fresh delete is still found, until the lag has passed', async () => {
      const id = await sdk.save(t, PLAIN, { [KEY]: 'E', textField_name: 'old' });
      sim.setKnobs({ searchLagMs: 300 });
      await sdk.update(t, id, { textField_name: 'new' });
      const seen = (await sdk.search(t, PLAIN, { searchCondition: eq('E') })).data!;
      expect(seen[0].formData!.textField_name).to.equal('old');
      await sdk.remove(t, id);
      expect((await sdk.search(t, PLAIN, { searchCondition: eq('E') })).totalCount).to.equal(1);
      await new Promise((r) => setTimeout(r, 350));
      expect((await sdk.search(t, PLAIN, { searchCondition: eq('E') })).totalCount).to.equal(0);
    });
  });
});
