/**
 * DingTalk simulator: process delete/terminate, metering (/__sim/calls), test-only drift planting and the
 * inspection/seeding routes, driven by the REAL SDK over loopback sockets.
 */
import { expect } from 'chai';
import { startDingtalkSimulator, robotSign, type DingtalkSimulator } from '../src/sandbox/dingtalk/index.js';
import { $yida, rejection, sdkFor } from './helpers/dingtalk-sim-sdk.js';

const KEY = 'textField_productNo';
const PLAIN = 'FORM-SIMPLAIN0001';
const ROBOT = { accessToken: 'robot-token-drift', secret: 'SECdriftsecret0001', name: 'ops' };
const eq = (value: string) => [{ key: KEY, value, type: 'TEXT', operator: 'eq', componentName: 'TextField' }];
const post = async (url: string, body: unknown) => { const r = await fetch(url, { method: 'POST', body: JSON.stringify(body) }); return { status: r.status, body: await r.json() }; };

describe('DingTalk simulator: process deletes, metering, drift and inspection (real SDK)', function () {
  let sim: DingtalkSimulator;
  let sdk: ReturnType<typeof sdkFor>;
  let t: string;

  before(async () => { sim = await startDingtalkSimulator({ plainForms: [PLAIN], robots: [ROBOT] }); sdk = sdkFor(sim); });
  after(() => sim.close());
  beforeEach(async () => { sim.reset(); t = await sdk.token(); });

  describe('deleteInstance and terminateInstance', () => {
    it('deleteInstance removes a process instance; an unknown id is an error unless deleteMissing is ok', async () => {
      const a = await sdk.start(t, { [KEY]: 'A' });
      const b = await sdk.start(t, { [KEY]: 'B' });
      expect((await sdk.deleteInstance(t, a)).statusCode).to.equal(200);
      expect(sim.instances().map((i) => i.processInstanceId)).to.deep.equal([b]);
      const again = await rejection(sdk.deleteInstance(t, a));
      expect(again.statusCode).to.equal(400);
      expect(again.code).to.equal('InvalidParameter.ProcessInstanceId');
      sim.setKnobs({ deleteMissing: 'ok' });
      expect((await sdk.deleteInstance(t, a)).statusCode).to.equal(200);
      expect((await rejection(sdk.yida.deleteInstanceWithOptions(new $yida.DeleteInstanceRequest({ ...sdk.target(), systemToken: 'x', processInstanceId: b }), { xAcsDingtalkAccessToken: t } as any, sdk.rt()))).code).to.equal('InvalidParameter.SystemToken');
      expect(sim.instanceCount()).to.equal(1);
    });

    it('terminateInstance stops a running instance; getInstances shows it TERMINATED', async () => {
      const a = await sdk.start(t, { [KEY]: 'A' });
      expect((await sdk.terminateInstance(t, a)).statusCode).to.equal(200);
      const res = await sdk.yida.getInstancesWithOptions(
        new $yida.GetInstancesRequest({ ...sdk.target(), formUuid: sim.yida.formUuid, instanceStatus: 'TERMINATED', pageNumber: 1, pageSize: 10 }),
        new $yida.GetInstancesHeaders({ xAcsDingtalkAccessToken: t }), sdk.rt());
      expect(res.body!.data!.map((d) => [d.processInstanceId, d.instanceStatus])).to.deep.equal([[a, 'TERMINATED']]);
      expect((await rejection(sdk.terminateInstance(t, 'nope'))).statusCode).to.equal(400);
    });

    it('the per-API fault knobs reach these routes too', async () => {
      const a = await sdk.start(t, { [KEY]: 'A' });
      sim.setKnobs({ commitThen500Rates: { 'yida.deleteInstance': 1 } });
      expect((await rejection(sdk.deleteInstance(t, a))).statusCode).to.equal(500);
      expect(sim.instanceCount()).to.equal(0);
      expect(sim.requests({ api: 'yida.deleteInstance' })[0]).to.include({ status: 500, committed: true });
    });
  });

  describe('metering', () => {
    it('counts metered Yida calls per API; token calls, throttled refusals and bad tokens are not metered', async () => {
      sim.setKnobs({ qpsLimits: { 'yida.searchFormDataSecondGeneration': 1 }, errorRates: { 'yida.saveFormData': 1 } });
      await sdk.batchSave(t, PLAIN, [{ [KEY]: 'A' }, { [KEY]: 'B' }]);
      await Promise.allSettled([sdk.search(t, PLAIN), sdk.search(t, PLAIN), sdk.search(t, PLAIN)]);
      await rejection(sdk.save(t, PLAIN, { [KEY]: 'C' })); // a 500 still reached the API: metered
      await rejection(sdk.save('not-a-token', PLAIN, { [KEY]: 'D' }));
      await sdk.token();
      const c = sim.calls();
      expect(c.byApi['yida.batchSaveFormData']).to.deep.equal({ calls: 1, throttled: 0 });
      expect(c.byApi['yida.searchFormDataSecondGeneration']).to.deep.equal({ calls: 1, throttled: 2 });
      expect(c.byApi['yida.saveFormData']).to.deep.equal({ calls: 1, throttled: 0 });
      expect(c).to.include({ metered: 3, throttled: 2, token: 2, robot: 0 });
      const viaHttp = await (await fetch(`${sim.url}/__sim/calls`)).json();
      expect(viaHttp).to.deep.equal(JSON.parse(JSON.stringify(c)));
    });

    it('counts accepted robot messages apart from API calls; reset clears the counts', async () => {
      const ts = Date.now();
      const url = `${sim.robotUrl(ROBOT.accessToken)}&timestamp=${ts}&sign=${encodeURIComponent(robotSign(ROBOT.secret, ts))}`;
      expect((await post(url, { msgtype: 'text', text: { content: 'hi' } })).body.errcode).to.equal(0);
      expect((await post(`${sim.robotUrl(ROBOT.accessToken)}`, { msgtype: 'text', text: { content: 'unsigned' } })).body.errcode).to.equal(310000);
      expect(sim.calls()).to.include({ robot: 1, metered: 0 });
      await post(`${sim.url}/__sim/reset`, {});
      expect(sim.calls()).to.deep.equal({ metered: 0, throttled: 0, token: 0, robot: 0, byApi: {} });
    });
  });

  describe('drift planting', () => {
    it('deletes, duplicates (same key, another id, created later) and edits a form instance', async () => {
      const [a, b, c] = await sdk.batchSave(t, PLAIN, [{ [KEY]: 'A', textField_name: 'a' }, { [KEY]: 'B' }, { [KEY]: 'C' }]);
      expect((await post(`${sim.url}/__sim/drift/delete`, { id: a })).status).to.equal(200);
      const dup = (await post(`${sim.url}/__sim/drift/duplicate`, { id: b })).body.id as string;
      expect((await post(`${sim.url}/__sim/drift/edit`, { id: c, data: { textField_name: '手改' } })).status).to.equal(200);
      expect((await sdk.search(t, PLAIN, { searchCondition: eq('A') })).totalCount).to.equal(0);
      const twins = (await sdk.search(t, PLAIN, { searchCondition: eq('B'), orderConfigJson: { gmt_create: '+' } })).data!;
      expect(twins.map((d) => d.formInstanceId)).to.deep.equal([b, dup]);
      const [orig, copy] = twins.map((d) => sim.formInstances().find((i) => i.formInstanceId === d.formInstanceId)!);
      expect(copy.data).to.deep.equal(orig.data);
      expect(copy.createdAt).to.be.greaterThan(orig.createdAt);
      expect(copy.creatorUserId).to.equal('sim-other-user');
      const edited = (await sdk.batchGet(t, PLAIN, [c]))[0];
      expect(edited.formData!.textField_name).to.equal('手改');
      expect(edited.modifyUser!.userId).to.equal('sim-other-user');
      expect(sim.calls().metered).to.equal(4); // batchSave, 2 searches, batchGet: planting drift is not metered
    });

    it('a duplicate can be given its createTime (e.g. a minute later, distinct at minute precision)', async () => {
      const a = await sdk.save(t, PLAIN, { [KEY]: 'A' });
      const at = sim.formInstances()[0].createdAt + 60_000;
      const dup = sim.plantDuplicate(a, { createTime: at });
      expect(sim.formInstances().find((i) => i.formInstanceId === dup)!.createdAt).to.equal(at);
      expect((await post(`${sim.url}/__sim/drift/duplicate`, { id: 'nope' })).status).to.equal(400);
      expect((await post(`${sim.url}/__sim/drift/delete`, { id: 'nope' })).status).to.equal(404);
      expect((await post(`${sim.url}/__sim/drift/edit`, { id: a })).status).to.equal(400);
    });

    it('deletes, duplicates and edits a process instance', async () => {
      const a = await sdk.start(t, { [KEY]: 'A', textField_name: 'a' });
      const b = await sdk.start(t, { [KEY]: 'B' });
      const dup = sim.plantDuplicate(a);
      expect(sim.plantEdit(b, { textField_name: '手改' })).to.equal(true);
      expect(sim.plantDelete(a)).to.equal(true);
      const byId = new Map(sim.instances().map((i) => [i.processInstanceId, i]));
      expect([...byId.keys()].sort()).to.deep.equal([b, dup].sort());
      expect(byId.get(dup)!.data).to.deep.equal({ [KEY]: 'A', textField_name: 'a' });
      expect(byId.get(b)!.data.textField_name).to.equal('手改');
      const ids = await sdk.yida.getInstanceIdListWithOptions(
        new $yida.GetInstanceIdListRequest({ ...sdk.target(), formUuid: sim.yida.formUuid, searchFieldJson: JSON.stringify(eq('A')), pageNumber: 1, pageSize: 10 }),
        new $yida.GetInstanceIdListHeaders({ xAcsDingtalkAccessToken: t }), sdk.rt());
      expect(ids.body!.data).to.deep.equal([dup]);
    });
  });

  describe('inspection and seeding', () => {
    it('lists form instances per form, and seeds records straight into a form (not metered)', async () => {
      const seeded = await post(`${sim.url}/__sim/forms/instances`, { formUuid: PLAIN, records: [{ data: { [KEY]: 'S1' }, createTime: '2025-03-01T00:00:00Z' }, { data: { [KEY]: 'S2' } }] });
      expect(seeded.body.ids).to.have.length(2);
      const list = await (await fetch(`${sim.url}/__sim/forms/instances?formUuid=${PLAIN}`)).json();
      expect(list.count).to.equal(2);
      expect(list.instances.find((i: any) => i.data[KEY] === 'S1').createdAt).to.equal(Date.parse('2025-03-01T00:00:00Z'));
      expect((await (await fetch(`${sim.url}/__sim/forms/instances?formUuid=FORM-OTHER`)).json()).count).to.equal(0);
      expect((await post(`${sim.url}/__sim/forms/instances`, { formUuid: sim.yida.formUuid, records: [] })).status).to.equal(400);
      expect(sim.calls().metered).to.equal(0);
    });

    it('sets knobs over HTTP, including the new ones, and refuses bad values', async () => {
      const ok = await post(`${sim.url}/__sim/knobs`, { prefixThen500Rates: { 'yida.batchSaveFormData': 0.1 }, batchPrefix: 'half', searchLagMs: 50, fieldMaxLength: { textField_name: 20 }, plainForms: [PLAIN, 'FORM-GROUPS'] });
      expect(ok.status).to.equal(200);
      expect(sim.knobs()).to.deep.include({ batchPrefix: 'half', searchLagMs: 50 });
      expect(sim.formInstanceCount('FORM-GROUPS')).to.equal(0);
      expect(await sdk.save(t, 'FORM-GROUPS', { textField_groupId: 'g1' })).to.match(/^FINST-/);
      for (const bad of [{ prefixThen500Rates: { 'yida.saveFormData': 0.5 } }, { batchPrefix: 'most' }, { batchRefusal: 'maybe' }, { fieldMaxLength: { x: -1 } }, { plainForms: 'FORM' }, { searchWindow: 0 }]) {
        const r = await post(`${sim.url}/__sim/knobs`, bad);
        expect(r.status, JSON.stringify(bad)).to.equal(400);
        expect(r.body.error).to.match(new RegExp(Object.keys(bad)[0]));
      }
    });
  });
});
