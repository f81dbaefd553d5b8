/**
 * Sweep and audit results in the console, against the simulators: a sweep held back by SYNC_DELETE_MAX shows the
 * guard and a confirm button that runs the confirming sweep; an audit shows its findings and a repair button that
 * runs the repairing audit. What the buttons ask is taken from the run record, never from the form.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { E2E_API_KEY, finishedRun, liveEnv, startInProcess, startSims, tempDir, type InProcessService, type Sims } from './helpers/e2e.js';
import { consoleLogin, request } from './helpers/fake-service.js';
import type { RunRecord } from '../src/core/index.js';

describe('console: sweep and audit results with their buttons', function () {
  this.timeout(90_000);
  let sims: Sims;
  let svc: InProcessService;
  let tmp: ReturnType<typeof tempDir>;
  let cookie: string;

  before(async () => {
    tmp = tempDir('console-mirror-');
    sims = await startSims({ okki: { products: 20 } });
    svc = await startInProcess(sims, liveEnv(sims, { STORE_URL: `sqlite://${join(tmp.dir, 'store.sqlite')}`, SYNC_DELETIONS: 'delete', SYNC_DELETE_MAX: '2' }));
    cookie = (await consoleLogin(svc.url, E2E_API_KEY)).cookie;
    expect((await svc.post({ wait: true })).json.status).to.equal('succeeded');
  });
  after(async () => { await svc?.close(); await sims?.close(); tmp?.remove(); });

  const page = (path: string) => request(svc.url, { path, headers: { cookie } });
  async function press(runId: string, action: string): Promise<string> {
    const token = /name="_csrf" value="([^"]+)"/.exec((await page(`/console/runs/${runId}`)).text)![1]!;
    const r = await request(svc.url, {
      method: 'POST', path: `/console/runs/${runId}/${action}`,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: token }).toString(),
    });
    expect(r.status).to.equal(303);
    return String(r.headers.location);
  }
  async function runVia(body: Record<string, unknown>): Promise<RunRecord> {
    const r = await svc.post({ ...body, wait: true });
    expect(r.status, r.text).to.equal(200);
    return r.json as RunRecord;
  }

  it('a guarded sweep shows how many are gone and a confirm button; confirming runs the confirming sweep', async () => {
    const gone = [...sims.okki.catalog.all()].slice(0, 3).map((p) => p.product_no);
    sims.okki.catalog.delete(gone, 'remove');
    const guarded = await runVia({ mode: 'sweep' });
    expect(guarded.gone?.guarded?.count).to.equal(3);
    const html = (await page(`/console/runs/${guarded.id}`)).text;
    expect(html).to.include('id="delete-guard"').and.include('more than SYNC_DELETE_MAX (2)').and.include('id="confirm-deletes"');
    expect(html).to.include('id="sweep"').and.include('(read in full)');
    for (const no of gone) expect(html).to.include(`/console/products?no=${no}`);

    const to = await press(guarded.id, 'confirm-deletes');
    const runId = /\/console\/runs\/([^?]+)\?notice=started/.exec(to)![1]!;
    const confirmed = await finishedRun(svc.url, decodeURIComponent(runId));
    expect(confirmed).to.deep.include({ trigger: 'console', mode: 'sweep', status: 'succeeded', options: { confirmDeletes: true } });
    expect(confirmed.counts.deleted).to.equal(3);
    const after = (await page(`/console/runs/${confirmed.id}`)).text;
    expect(after).to.not.include('id="confirm-deletes"');
  });

  it('an audit shows its findings and a repair button; repairing runs the repairing audit', async () => {
    const stale = [...sims.okki.catalog.all()].find((p) => p.enable_flag !== 0)!.product_no;
    // changed in Yida behind the connector's back: the audit finds it stale
    const inst = sims.dt.instances().find((i) => i.data.textField_lq23ags2 === stale)!;
    inst.data.textField_lq0sj9h9 = '在宜搭里被改过';
    const audit = await runVia({ mode: 'audit' });
    expect(audit.audit?.stale.count).to.equal(1);
    const html = (await page(`/console/runs/${audit.id}`)).text;
    expect(html).to.include('id="audit-stale">1<').and.include('id="audit-repair"').and.include(`/console/products?no=${stale}`);

    const to = await press(audit.id, 'repair');
    const runId = /\/console\/runs\/([^?]+)\?notice=started/.exec(to)![1]!;
    const repaired = await finishedRun(svc.url, decodeURIComponent(runId));
    expect(repaired).to.deep.include({ trigger: 'console', mode: 'audit', options: { repair: true } });
    expect(repaired.audit?.repaired?.updated).to.equal(1);
    expect(inst.data.textField_lq0sj9h9).to.not.equal('在宜搭里被改过');
    const after = (await page(`/console/runs/${repaired.id}`)).text;
    expect(after).to.include('id="audit-repaired"').and.not.include('id="audit-repair"');
  });

  it('a run with nothing to confirm or repair starts nothing, whatever is posted', async () => {
    const plain = await runVia({});
    const before = (await svc.get('/runs?limit=100')).json.length;
    expect(await press(plain.id, 'confirm-deletes')).to.match(/notice=unsupported$/);
    expect(await press(plain.id, 'repair')).to.match(/notice=unsupported$/);
    expect((await svc.get('/runs?limit=100')).json.length).to.equal(before);
  });
});
