import { expect } from 'chai';
import { RobotClient, robotSignature } from '../src/robot/index.js';
import { ConnectorError } from '../src/errors.js';
import { startFakeRobot, type FakeRobot } from './helpers/robot.js';

const SECRET = 'SECb1f2e3d4c5a6978877665544332211aabbccddeeff00112233445566778899';
const msg = (n = 1) => ({ title: `t${n}`, text: `### 报告 ${n}`, msgUuid: `run-${n}` });

async function rejection(p: Promise<unknown>): Promise<ConnectorError> {
  try { await p; } catch (err) { return err as ConnectorError; }
  throw new Error('expected a rejection');
}

function expectNoSecrets(err: unknown, ...secrets: string[]) {
  const e = err as Error;
  const text = [e.message, e.stack ?? '', JSON.stringify(e), JSON.stringify((e as ConnectorError).details ?? {})].join('\n');
  for (const s of secrets) {
    expect(text).not.to.include(s);
    expect(text).not.to.include(encodeURIComponent(s));
  }
}

describe('robot client', () => {
  let robot: FakeRobot;
  afterEach(async () => { await robot?.close(); });

  it('signs each message so that a server checking like DingTalk accepts it', async () => {
    robot = await startFakeRobot({ secret: SECRET });
    const client = new RobotClient({ webhookUrl: robot.url, secret: SECRET });
    await client.sendMarkdown(msg(1));
    await client.sendMarkdown({ ...msg(2), at: { isAtAll: false } });
    expect(robot.messages).to.have.length(2);
    const first = robot.messages[0]!;
    expect(first.body).to.deep.include({ msgtype: 'markdown', msgUuid: 'run-1' });
    expect(first.body.markdown).to.deep.equal({ title: 't1', text: '### 报告 1' });
    expect(first.body.at).to.deep.equal({ atMobiles: [], atUserIds: [], isAtAll: false });
  });

  it('URL-encodes the base64 signature (a "+" or "/" in it survives the trip)', async () => {
    // find a timestamp whose signature contains characters that must be percent-encoded
    let ts = 1_700_000_000_000;
    for (let i = 0; i < 1000 && !/[+/]/.test(robotSignature(SECRET, ts)); i++) ts += 1;
    expect(robotSignature(SECRET, ts)).to.match(/[+/]/);
    robot = await startFakeRobot({ secret: SECRET, serverNow: () => ts });
    const client = new RobotClient({ webhookUrl: robot.url, secret: SECRET, now: () => ts });
    await client.sendMarkdown(msg());
    expect(robot.messages).to.have.length(1);
    expect(robot.messages[0]!.rawQuery).to.match(/sign=[^&]*%2[BF]/i);
    expect(robot.messages[0]!.timestamp).to.equal(String(ts));
  });

  it('a forged secret is refused as ROBOT_REJECTED, and the error names neither secret nor token', async () => {
    robot = await startFakeRobot({ secret: SECRET });
    const forged = 'SEC' + 'f'.repeat(64);
    const client = new RobotClient({ webhookUrl: robot.url, secret: forged });
    const err = await rejection(client.sendMarkdown(msg()));
    expect(err).to.be.instanceOf(ConnectorError);
    expect(err.code).to.equal('ROBOT_REJECTED');
    expect(err.details).to.deep.equal({ errcode: 310000 });
    expect(robot.messages).to.have.length(0);
    expectNoSecrets(err, forged, SECRET, robot.token);
  });

  it('a timestamp outside DingTalk\'s one-hour window is refused', async () => {
    robot = await startFakeRobot({ secret: SECRET });
    const client = new RobotClient({ webhookUrl: robot.url, secret: SECRET, now: () => Date.now() - 2 * 3600_000 });
    expect((await rejection(client.sendMarkdown(msg()))).code).to.equal('ROBOT_REJECTED');
  });

  it('maps the blocking errcodes 410100 and 130101 to ROBOT_BLOCKED and then holds further messages back', async () => {
    for (const errcode of [410100, 130101]) {
      robot = await startFakeRobot({ secret: SECRET });
      const client = new RobotClient({ webhookUrl: robot.url, secret: SECRET });
      robot.force({ body: { errcode, errmsg: 'send too fast, exceed 20 times per minute' } });
      const err = await rejection(client.sendMarkdown(msg()));
      expect(err.code).to.equal('ROBOT_BLOCKED');
      expect(client.availableInMs()).to.be.greaterThan(60_000);
      const next = await rejection(client.sendMarkdown(msg(2)));
      expect(next.code).to.equal('ROBOT_BUDGET_EXHAUSTED');
      expect(robot.requests).to.equal(1);
      await robot.close();
    }
  });

  it('other errcodes, HTTP errors, non-JSON bodies and timeouts are ROBOT_SEND_FAILED without secrets', async () => {
    robot = await startFakeRobot({ secret: SECRET });
    const client = new RobotClient({ webhookUrl: robot.url, secret: SECRET, timeoutMs: 300 });
    robot.force(
      { body: { errcode: 300001, errmsg: `token ${robot.token} is not exist` } },
      { status: 500, body: { message: 'oops' } },
      { rawBody: '<html>banned</html>' },
      { delayMs: 2_000 },
    );
    const a = await rejection(client.sendMarkdown(msg(1)));
    expect(a.code).to.equal('ROBOT_SEND_FAILED');
    expect(a.details).to.deep.equal({ errcode: 300001 });
    expectNoSecrets(a, robot.token, SECRET);
    const b = await rejection(client.sendMarkdown(msg(2)));
    expect(b.code).to.equal('ROBOT_SEND_FAILED');
    expect(b.details).to.deep.equal({ status: 500 });
    const c = await rejection(client.sendMarkdown(msg(3)));
    expect(c.code).to.equal('ROBOT_SEND_FAILED');
    expect(c.message).to.include('not JSON');
    const d = await rejection(client.sendMarkdown(msg(4)));
    expect(d.code).to.equal('ROBOT_SEND_FAILED');
    expect(d.message).to.include('no answer within 300 ms');
    for (const e of [b, c, d]) expectNoSecrets(e, robot.token, SECRET);
  });

  it('a refused connection is ROBOT_SEND_FAILED and names only origin and path', async () => {
    robot = await startFakeRobot({ secret: SECRET });
    const url = robot.url;
    await robot.close();
    const client = new RobotClient({ webhookUrl: url, secret: SECRET });
    const err = await rejection(client.sendMarkdown(msg()));
    expect(err.code).to.equal('ROBOT_SEND_FAILED');
    expect(err.message).to.include('/robot/send');
    expectNoSecrets(err, 'tok-0123456789abcdef', SECRET);
  });

  it('keeps to 20 messages in any sliding minute: the 21st is not sent until the oldest leaves the window', async () => {
    robot = await startFakeRobot({ secret: SECRET });
    let now = 1_800_000_000_000;
    robot.serverNow = () => now;
    const client = new RobotClient({ webhookUrl: robot.url, secret: SECRET, now: () => now });
    for (let i = 0; i < 20; i++) { await client.sendMarkdown(msg(i)); now += 1_000; }
    const err = await rejection(client.sendMarkdown(msg(21)));
    expect(err.code).to.equal('ROBOT_BUDGET_EXHAUSTED');
    expect(robot.requests).to.equal(20);
    expect(client.availableInMs()).to.equal(40_000); // the first went out 20 s ago
    now += 40_000;
    expect(client.availableInMs()).to.equal(0);
    await client.sendMarkdown(msg(21));
    expect(robot.messages).to.have.length(21);
    expect((await rejection(client.sendMarkdown(msg(22)))).code).to.equal('ROBOT_BUDGET_EXHAUSTED');
  });

  // ROBOT_WEBHOOK_URL and ROBOT_SECRET are validated once by loadConfig (test/config.test.ts) and trusted here.
  it('validates its own options up front', () => {
    expect(() => new RobotClient({ webhookUrl: 'https://oapi.dingtalk.com/robot/send?access_token=x', timeoutMs: 0 })).to.throw(/timeoutMs/);
    expect(() => new RobotClient({ webhookUrl: 'https://oapi.dingtalk.com/robot/send?access_token=x', perMinute: 0 })).to.throw(/perMinute/);
  });
});
