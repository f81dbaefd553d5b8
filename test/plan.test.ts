/** What a run will do, decided at its start from the trigger and the cursor. */
import { expect } from 'chai';
import { modeOf, planRun } from '../src/sync/plan.js';

describe('run plan', () => {
  const now = new Date('2026-11-25T02:00:00Z');
  const cursor = new Date('2026-11-25T01:00:00Z');
  const signal = new AbortController().signal;
  const at = (c?: Date) => ({ runId: 'run-1', cursor: c, now, lookbackSeconds: 1801, signal });

  it('product numbers make a run targeted; otherwise the asked mode, incremental by default', () => {
    expect(modeOf({})).to.equal('incremental');
    expect(modeOf({ mode: 'full' })).to.equal('full');
    expect(modeOf({ mode: 'full', productNos: ['P-1'] })).to.equal('targeted');
    expect(modeOf({ productNos: [] })).to.equal('incremental');
  });

  it('incremental: from the cursor minus the lookback up to now; nothing to adopt once a cursor exists', () => {
    const p = planRun({ trigger: 'schedule' }, at(cursor));
    expect(p).to.deep.include({ runId: 'run-1', mode: 'incremental', adopt: false, cursor, now, signal });
    expect(p.window).to.deep.equal({ start: new Date(cursor.getTime() - 1801_000), end: now });
    expect(p.targets).to.equal(undefined);
  });

  it('no cursor (first run, or a lost store): everything up to now, adopting instances that may already exist', () => {
    const p = planRun({ trigger: 'webhook' }, at(undefined));
    expect(p.window).to.deep.equal({ end: now });
    expect(p.adopt).to.equal(true);
  });

  it('targeted: the product numbers, no window; adopting too while there is no cursor', () => {
    const p = planRun({ trigger: 'webhook', productNos: ['P-1', 'P-2'] }, at(undefined));
    expect(p).to.deep.include({ mode: 'targeted', targets: ['P-1', 'P-2'], adopt: true });
    expect(p.window).to.equal(undefined);
    expect(planRun({ trigger: 'webhook', productNos: ['P-1'] }, at(cursor)).adopt).to.equal(false);
  });

  it('carries the request as asked, so a new mode can read what its trigger sent', () => {
    const req = { trigger: 'cli' as const, mode: 'full' as const, requestedBy: 'ops' };
    expect(planRun(req, at(cursor)).request).to.equal(req);
  });
});
