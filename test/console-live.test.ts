/**
 * The console against the real thing on loopback: both simulators, the real SDK, two replicas of the connector on
 * one store. A run started on replica A is watched live from replica B (server-sent events fed from the store);
 * the product lookup shows OKKI, mapping, ledger, Yida and their difference; /readyz reports a mapping that no longer
 * fits the form; no page shows a secret.
 */
import { expect } from 'chai';
import http from 'node:http';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { E2E_API_KEY, FIELDS, finishedRun, liveEnv, secretsOf, startInProcess, startSims, tempDir, type InProcessService, type Sims } from './helpers/e2e.js';
import { consoleLogin, request } from './helpers/fake-service.js';
import { spawnService, type ServiceProcess } from './helpers/service-process.js';

const CATALOGUE = 60;

/** Read a server-sent event stream until `done` (or the deadline); returns the events in order. */
function readEvents(baseUrl: string, path: string, cookie: string, timeoutMs = 30_000): Promise<{ event: string; data: any }[]> {
  return new Promise((resolve, reject) => {
    const events: { event: string; data: any }[] = [];
    const req = http.get(new URL(path, baseUrl), { headers: { cookie, accept: 'text/event-stream' }, agent: false }, (res) => {
      if (res.statusCode !== 200 || !String(res.headers['content-type']).startsWith('text/event-stream')) { reject(new Error(`events: ${res.statusCode}`)); return; }
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
        }
      });
      res.on('end', () => resolve(events));
    });
    req.on('error', reject);
    setTimeout(() => { req.destroy(); resolve(events); }, timeoutMs).unref();
  });
}

describe('console, live against the simulators (two replicas, one store: one in this process, one a process of its own)', function () {
  this.timeout(90_000);
  let sims: Sims;
  let a: InProcessService;
  /** replica B: the service as its own process (`node src/main.ts`), on the same store */
  let b: ServiceProcess;
  let bUrl: string;
  let tmp: ReturnType<typeof tempDir>;
  let cookieA: string;
  let cookieB: string;
  /** the product the lookup tests look at (fixed: an upsert may reorder the catalogue) */
  let no: string;

  before(async () => {
    tmp = tempDir('console-live-');
    sims = await startSims({ okki: { products: CATALOGUE } });
    no = [...sims.okki.catalog.all()][3]!.product_no;
    const env = liveEnv(sims, { STORE_URL: `sqlite://${join(tmp.dir, 'store.sqlite')}`, YIDA_CONCURRENCY: '2' });
    a = await startInProcess(sims, env);
    b = spawnService(env);
    bUrl = await b.url(30_000);
    cookieA = (await consoleLogin(a.url, E2E_API_KEY)).cookie;
    cookieB = (await consoleLogin(bUrl, E2E_API_KEY)).cookie;
  });
  after(async () => {
    await a?.close();
    await b?.stop();
    await sims?.close();
    tmp?.remove();
  });

  it('a run started on one replica is watched to its end from the other, with read / written / total, rate and time left', async () => {
    sims.dt.setKnobs({ latencyMs: [30, 50] }); // slow enough to be seen moving
    try {
      const started = await a.post({});
      expect(started.status).to.equal(202);
      const runId = started.json.runId as string;
      const events = await readEvents(bUrl, `/console/runs/${runId}/events`, cookieB);
      const progress = events.filter((e) => e.event === 'progress').map((e) => e.data);
      expect(events.at(-1)).to.deep.include({ event: 'done' });
      expect(events.at(-1)!.data).to.deep.equal({ runId, status: 'succeeded' });
      const moving = progress.filter((p) => p.status === 'running' && p.settled > 0 && p.settled < CATALOGUE);
      expect(moving.length, 'intermediate progress reached replica B through the store').to.be.greaterThan(0);
      expect(moving.some((p) => p.total === CATALOGUE && p.rateText !== '—' && /\d/.test(p.etaText)), JSON.stringify(moving.at(-1))).to.equal(true);
      const settled = progress.map((p) => p.settled);
      expect(settled, 'never goes backwards').to.deep.equal([...settled].sort((x, y) => x - y));
      expect(progress.at(-1)).to.include({ status: 'succeeded', settled: CATALOGUE, written: CATALOGUE, percent: 100 });
      const page = await request(bUrl, { path: `/console/runs/${runId}`, headers: { cookie: cookieB } });
      expect(page.text).to.match(/id="count-created"[^>]*>60</).and.include('id="no-failures"');
    } finally {
      sims.dt.setKnobs({ latencyMs: [0, 0] });
    }
  });

  it('the product lookup shows OKKI, the mapped data, the ledger entry, Yida now, and what differs', async () => {
    const look = () => request(a.url, { path: `/console/products?no=${encodeURIComponent(no)}`, headers: { cookie: cookieA } });
    const first = await look();
    expect(first.status).to.equal(200);
    const inst = sims.dt.instances().find((i) => i.data[FIELDS.productNo] === no)!;
    expect(first.text).to.include(inst.processInstanceId).and.include('all fields match').and.include('the next run will not write it');
    expect(first.text).to.include(String(sims.okki.catalog.get(no)!.name));

    sims.okki.catalog.upsert([{ product_no: no, name: '控制台改名测试' }]);
    const second = await look();
    expect(second.text).to.include('1 field(s) differ').and.include('控制台改名测试').and.include('the next run will write it');

    const missing = await request(a.url, { path: '/console/products?no=P-NOPE-404', headers: { cookie: cookieA } });
    expect(missing.text).to.include('OKKI has no product with this number').and.include('Yida holds no instance');
  });

  it('"sync this product now" runs it at once, and the lookup is in step again', async () => {
    const page = await request(a.url, { path: `/console/products?no=${encodeURIComponent(no)}`, headers: { cookie: cookieA } });
    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const r = await request(a.url, {
      method: 'POST', path: '/console/products/sync',
      headers: { cookie: cookieA, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: token, no }).toString(),
    });
    expect(r.status).to.equal(303);
    const runId = /\/console\/runs\/([^?]+)\?notice=started/.exec(String(r.headers.location))![1]!;
    const run = await finishedRun(a.url, decodeURIComponent(runId));
    expect(run).to.deep.include({ trigger: 'console', mode: 'targeted', status: 'succeeded', productNos: [no] });
    expect(run.counts.updated, JSON.stringify(run)).to.equal(1);
    const after = await request(a.url, { path: `/console/products?no=${encodeURIComponent(no)}`, headers: { cookie: cookieA } });
    expect(after.text).to.include('all fields match');
  });

  it('/readyz and the console report a mapping that does not fit the form, and recover when it fits again', async () => {
    const form = sims.dt.yida.formUuid;
    const original = sims.dt.formFields(form);
    sims.dt.setFormFields(form, [
      ...original.filter((f) => f.fieldId !== FIELDS.remark),
      { fieldId: 'dateField_launch', componentName: 'DateField', label: '上市日期', required: true },
    ]);
    try {
      await a.console.monitor.check();
      const ready = await request(a.url, { path: '/readyz' });
      expect(ready.status).to.equal(503);
      expect(ready.json.checks.mappingFitsForm).to.equal(false);
      expect(ready.json.mappingProblems).to.have.members([`unknown_field: ${FIELDS.remark} (产品备注)`, 'required_unmapped: dateField_launch (上市日期)']);
      const page = await request(a.url, { path: '/console/mapping', headers: { cookie: cookieA } });
      expect(page.text).to.include('does not fit the form').and.include('dateField_launch').and.include(FIELDS.remark);
    } finally {
      sims.dt.setFormFields(form, original);
    }
    await a.console.monitor.check();
    const again = await request(a.url, { path: '/readyz' });
    expect(again.status, again.text).to.equal(200);
    expect(again.json.checks.mappingFitsForm).to.equal(true);
  });

  it('npm run sync, its output not a terminal, prints plain progress lines and a final one on stderr', async () => {
    // slow reads, small pages: the run takes a couple of seconds whatever it has to write
    sims.okki.setKnobs({ latencyMs: [40, 60] });
    const cli = spawnService({ ...liveEnv(sims, { STORE_URL: `sqlite://${join(tmp.dir, 'store.sqlite')}`, OKKI_PAGE_SIZE: '10', OKKI_QPS: '20', LOG_LEVEL: 'warn' }) }, { args: ['src/cli.ts', '--full', '--progress-every', '0.2'] });
    try {
      const { code } = await cli.exited;
      expect(code, cli.stderr.join('\n')).to.equal(0);
    } finally {
      sims.okki.setKnobs({ latencyMs: [0, 0] });
    }
    const lines = cli.stderr.filter((l) => /^(progress|finished) run-/.test(l));
    expect(lines.length, cli.stderr.join('\n')).to.be.greaterThan(1);
    // before OKKI's first page says how many there are, a line counts without a total
    expect(lines.slice(0, -1).every((l) => /^progress run-\S+ (\d+ done|\d+\/60 \(\d+%\)) · read \d+ · written \d+ · [\d.-]+\/s · /.test(l)), lines.join('\n')).to.equal(true);
    expect(lines.some((l) => / \d+\/60 \(\d+%\) .* \d+s left$/.test(l)), lines.join('\n')).to.equal(true);
    expect(lines.at(-1)).to.match(/^finished run-\S+ succeeded · 60\/60 \(100%\) · read 60 · written 60 · /);
    expect(cli.stderr.join('\n'), 'no terminal control codes in a log').to.not.include('\x1b[');
    expect(JSON.parse(cli.stdout.join('\n'))).to.deep.include({ status: 'succeeded', mode: 'full' });
  });

  it('no page shows a secret, whatever it displays', async () => {
    const runs = (await a.get('/runs?limit=5')).json as { id: string }[];
    const pages = ['/console', `/console/runs/${runs[0]!.id}`, `/console/products?no=${encodeURIComponent(no)}`, '/console/mapping', '/console/mapping?preview=3', '/'];
    const texts = await Promise.all(pages.map(async (p) => (await request(a.url, { path: p, headers: { cookie: cookieA } })).text));
    texts.push((await request(a.url, { path: '/console/login' })).text, (await request(a.url, { path: '/' })).text);
    expect(texts[4]).to.include('would write');
    for (const secret of secretsOf(sims)) {
      const tag = createHash('sha256').update(secret).digest('hex').slice(0, 8);
      texts.forEach((t, i) => expect(t.includes(secret), `secret #${tag} on page ${i}`).to.equal(false));
    }
  });
});
