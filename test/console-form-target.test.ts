/**
 * The console's product lookup on a plain form (YIDA_TARGET=form): what Yida holds is read through the form-data
 * search (a plain form has no process instances), so the lookup shows the record, its values and what differs.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { E2E_API_KEY, liveEnv, startInProcess, startSims, tempDir, type InProcessService, type Sims } from './helpers/e2e.js';
import { consoleLogin, request } from './helpers/fake-service.js';

describe('console on the plain-form target (YIDA_TARGET=form)', function () {
  this.timeout(60_000);
  let sims: Sims;
  let svc: InProcessService;
  let tmp: ReturnType<typeof tempDir>;
  let cookie: string;

  before(async () => {
    tmp = tempDir('console-form-');
    sims = await startSims({ okki: { products: 8 }, dt: { formKind: 'plain' } });
    svc = await startInProcess(sims, liveEnv(sims, { STORE_URL: `sqlite://${join(tmp.dir, 'store.sqlite')}`, YIDA_TARGET: 'form' }));
    const r = await svc.post({ wait: true });
    expect(r.json.status, r.text).to.equal('succeeded');
    cookie = (await consoleLogin(svc.url, E2E_API_KEY)).cookie;
  });
  after(async () => { await svc?.close(); await sims?.close(); tmp?.remove(); });

  it('the product lookup finds the form record by its key, shows its values, and what differs after an OKKI edit', async () => {
    const no = [...sims.okki.catalog.all()][2]!.product_no;
    const look = () => request(svc.url, { path: `/console/products?no=${encodeURIComponent(no)}`, headers: { cookie } });
    const record = sims.dt.formInstances().find((r) => Object.values(r.data).includes(no))!;
    expect(record, 'the run wrote a form record').to.not.equal(undefined);
    expect(sims.dt.instances(), 'and no process instance').to.have.length(0);
    const searches = sims.dt.requests({ api: 'yida.searchFormDataSecondGeneration' as never }).length;

    const first = await look();
    expect(first.status).to.equal(200);
    expect(first.text).to.include(record.formInstanceId).and.include('all fields match').and.include('the next run will not write it');
    expect(sims.dt.requests({ api: 'yida.searchFormDataSecondGeneration' as never }).length, 'one exact search').to.equal(searches + 1);

    sims.okki.catalog.upsert([{ product_no: no, name: '表单控制台改名' }]);
    const second = await look();
    expect(second.text).to.include('1 field(s) differ').and.include('表单控制台改名');

    const missing = await request(svc.url, { path: '/console/products?no=P-NOPE-404', headers: { cookie } });
    expect(missing.text).to.include('Yida holds no instance');
  });
});
