import { expect } from 'chai';
import { Writable } from 'node:stream';
import { RobotClient, RobotReporter, createRobotReporter } from '../src/robot/index.js';
import { createLogger } from '../src/log.js';
import type { RunRecord } from '../src/core/index.js';
import { startFakeRobot, type FakeRobot } from './helpers/robot.js';

const SECRET = 'SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab';

function run(id: string, over: Partial<RunRecord> = {}): RunRecord {
  return {
    id, trigger: 'schedule', mode: 'incremental', status: 'succeeded',
    window: { start: '2025-01-01 09:30:00', end: '2025-01-01 10:00:00' },
    startedAt: '2025-01-01T02:00:00.000Z', finishedAt: '2025-01-01T02:00:10.000Z', durationMs: 10_000,
    counts: { fetched: 5, created: 1, updated: 1, unchanged: 3, rejected: 0, failed: 0 }, failures: [], ...over,
  };
}

function captureLogs() {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  return { logger: createLogger({ stream, level: 'debug' }), lines };
}

describe('robot reporter', () => {
  let robot: FakeRobot;
  afterEach(async () => { await robot?.close(); });

  it('sends one signed message per run with msgUuid = run id and the link', async () => {
    robot = await startFakeRobot({ secret: SECRET });
    const reporter = createRobotReporter({ robot: { webhookUrl: robot.url, secret: SECRET }, publicUrl: 'https://sync.example.com' });
    const result = await reporter.report(run('run-1'), { consecutiveFailures: 0 });
    expect(result).to.deep.equal({ sent: true });
    expect(robot.messages).to.have.length(1);
    const body = robot.messages[0]!.body;
    expect(body.msgUuid).to.equal('run-1');
    expect(body.markdown.title).to.equal('OKKI→宜搭 产品同步 成功');
    expect(body.markdown.text).to.include('https://sync.example.com/console/runs/run-1');
  });

  it('over the 20/min budget, queues and coalesces the rest into ONE message instead of dropping them', async () => {
    robot = await startFakeRobot({ secret: SECRET });
    let now = 1_800_000_000_000;
    robot.serverNow = () => now;
    const client = new RobotClient({ webhookUrl: robot.url, secret: SECRET, now: () => now });
    const reporter = new RobotReporter({ client });
    const results = [];
    for (let i = 0; i < 25; i++) results.push(await reporter.report(run(`run-${i}`, i === 24 ? { status: 'failed' } : {}), { consecutiveFailures: i === 24 ? 3 : 0 }));
    expect(results.slice(0, 20).every((r) => r.sent)).to.equal(true);
    for (const r of results.slice(20)) {
      expect(r.sent).to.equal(false);
      expect(r.error).to.match(/^ROBOT_QUEUED/);
    }
    expect(robot.messages).to.have.length(20);
    expect(reporter.pending).to.equal(5);

    await reporter.flush(); // still no budget: nothing is sent, nothing is lost
    expect(robot.messages).to.have.length(20);
    expect(reporter.pending).to.equal(5);

    now += 60_000;
    await reporter.flush();
    expect(robot.messages).to.have.length(21);
    expect(reporter.pending).to.equal(0);
    const merged = robot.messages[20]!.body.markdown;
    expect(merged.title).to.equal('OKKI→宜搭 产品同步 汇总（5 次运行）');
    expect(merged.text).to.include('连续 3 次失败');
    expect((merged.text.match(/\n- /g) ?? []).length).to.equal(5);
    await reporter.close();
  });

  it('keeps the queue bounded but counts every queued run in the coalesced message', async () => {
    robot = await startFakeRobot({ secret: SECRET });
    let now = 1_800_000_000_000;
    robot.serverNow = () => now;
    const client = new RobotClient({ webhookUrl: robot.url, secret: SECRET, now: () => now, perMinute: 1 });
    const reporter = new RobotReporter({ client, maxQueued: 3 });
    for (let i = 0; i < 10; i++) await reporter.report(run(`r${i}`));
    expect(reporter.pending).to.equal(9);
    now += 60_000;
    await reporter.flush();
    const merged = robot.messages[1]!.body.markdown;
    expect(merged.title).to.include('汇总（9 次运行）');
    expect(merged.text).to.include('另有 6 次运行未逐条列出');
    await reporter.close();
  });

  it('when DingTalk blocks the robot, the report is queued for after the block', async () => {
    robot = await startFakeRobot({ secret: SECRET });
    let now = 1_800_000_000_000;
    robot.serverNow = () => now;
    const client = new RobotClient({ webhookUrl: robot.url, secret: SECRET, now: () => now });
    const reporter = new RobotReporter({ client });
    robot.force({ body: { errcode: 410100, errmsg: 'blocked' } });
    const r = await reporter.report(run('b1'));
    expect(r.sent).to.equal(false);
    expect(r.error).to.match(/^ROBOT_QUEUED/);
    now += 11 * 60_000;
    await reporter.flush();
    expect(robot.messages.map((m) => m.body.msgUuid)).to.deep.equal(['b1']);
    await reporter.close();
  });

  it('tries a report again after a transient failure (5xx, DingTalk busy), and gives up with the reason after 3 tries', async () => {
    robot = await startFakeRobot({ secret: SECRET });
    const reporter = new RobotReporter({ client: new RobotClient({ webhookUrl: robot.url, secret: SECRET }), retryDelayMs: 10 });
    robot.force({ status: 500, rawBody: 'oops' }, { body: { errcode: -1, errmsg: '系统繁忙' } });
    expect(await reporter.report(run('flaky'))).to.deep.equal({ sent: true });
    expect(robot.messages.map((m) => m.body.msgUuid)).to.deep.equal(['flaky']);
    robot.force({ status: 502, rawBody: 'x' }, { status: 502, rawBody: 'x' }, { status: 502, rawBody: 'x' });
    const r = await reporter.report(run('down'));
    expect(r.sent).to.equal(false);
    expect(r.error).to.match(/^ROBOT_SEND_FAILED/);
    expect(robot.requests).to.equal(6);
    await reporter.close();
  });

  it('never throws: a refused message comes back as {sent:false, error} and is logged without secrets', async () => {
    robot = await startFakeRobot({ secret: SECRET });
    const { logger, lines } = captureLogs();
    const reporter = new RobotReporter({ client: new RobotClient({ webhookUrl: robot.url, secret: 'SECwrong-wrong-wrong', logger }), logger });
    const r = await reporter.report(run('x'));
    expect(r.sent).to.equal(false);
    expect(r.error).to.match(/^ROBOT_REJECTED: /);
    expect(r.error).not.to.include(robot.token);
    const log = lines.join('');
    expect(log).to.include('robot report not sent');
    expect(log).not.to.include(robot.token);
    expect(log).not.to.include('SECwrong-wrong-wrong');

    const broken = new RobotReporter({ client: { availableInMs: () => { throw new Error('boom'); }, sendMarkdown: async () => undefined } });
    expect(await broken.report(run('y'))).to.deep.equal({ sent: false, error: 'INTERNAL_ERROR: boom' });
  });

  it('without a robot configured, reports nothing', async () => {
    expect(await createRobotReporter({}).report(run('n'))).to.deep.equal({ sent: false });
  });
});
