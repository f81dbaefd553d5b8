import { expect } from 'chai';
import { loadConfig, parseDuration, secretValues } from '../src/config.js';
import { makeRedactor } from '../src/redact.js';
import { ConfigError } from '../src/errors.js';

const live = {
  OKKI_CLIENT_ID: 'okki-id',
  OKKI_CLIENT_SECRET: 'okki-secret-VALUE-1234',
  DINGTALK_APP_KEY: 'ding-app-key',
  DINGTALK_APP_SECRET: 'ding-secret-VALUE-5678',
  YIDA_APP_TYPE: 'APP_X',
  YIDA_SYSTEM_TOKEN: 'yida-system-token-VALUE',
  YIDA_USER_ID: 'user1',
  YIDA_FORM_UUID: 'FORM-1',
};

function problemsOf(env: Record<string, string>): string[] {
  try { loadConfig(env); } catch (err) { expect(err).to.be.instanceOf(ConfigError); return (err as ConfigError).problems; }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('defaults to sandbox mode when no OKKI/DingTalk credentials are set, with the documented defaults', () => {
    const c = loadConfig({});
    expect(c.sandbox).to.equal(true);
    expect(c.sandboxReason).to.match(/no OKKI\/DingTalk\/Yida credentials/);
    expect(c.port).to.equal(3000);
    expect(c.host, 'the simulators\' open webhook stays on this machine').to.equal('127.0.0.1');
    expect(c.keepAliveTimeoutMs).to.equal(65_000);
    expect(c.okki).to.include({ baseUrl: 'https://api-sandbox.xiaoman.cn', scope: 'product', pageSize: 100, qps: 5 });
    expect(c.dingtalk).to.include({ endpoint: 'api.dingtalk.com', protocol: 'https' });
    expect(c.yida).to.include({ language: 'zh_CN', qps: 15, concurrency: 8 });
    expect(c.store).to.deep.equal({ url: 'sqlite://./data/connector.sqlite', kind: 'sqlite', sqlitePath: './data/connector.sqlite' });
    expect(c.sync).to.deep.equal({ cron: '*/10 * * * *', timezone: 'Asia/Shanghai', lookbackSeconds: 1801, cursorMaxAgeSeconds: 7200 });
    expect(c.mappingFile).to.equal('manifest/mapping.json');
    expect(c.robot).to.equal(undefined);
  });

  it('is live with full credentials and reads every variable of the contract', () => {
    const c = loadConfig({
      ...live, PORT: '8080', HOST: '127.0.0.1', OKKI_BASE_URL: 'http://127.0.0.1:9/', OKKI_SCOPE: 'product customer',
      OKKI_PAGE_SIZE: '50', OKKI_QPS: '2.5', DINGTALK_ENDPOINT: '127.0.0.1:7001', DINGTALK_PROTOCOL: 'http',
      YIDA_PROCESS_CODE: 'TPROC--1', YIDA_LANGUAGE: 'en_US', YIDA_QPS: '20', YIDA_CONCURRENCY: '4',
      ROBOT_WEBHOOK_URL: 'http://127.0.0.1:7001/robot/send?access_token=robot-token-VALUE', ROBOT_SECRET: 'SECrobot-VALUE',
      WEBHOOK_API_KEY: 'k'.repeat(32), WEBHOOK_SIGNING_SECRET: 'ddpaas-VALUE', STORE_URL: 'redis://:pw-VALUE@127.0.0.1:6379/0',
      SYNC_CRON: '*/5 * * * * *', SYNC_TIMEZONE: 'UTC', SYNC_LOOKBACK: '90', MAPPING_FILE: 'x.json', PUBLIC_URL: 'https://c.example.com/',
    });
    expect(c.sandbox).to.equal(false);
    expect(c.port).to.equal(8080);
    expect(c.okki).to.deep.equal({ baseUrl: 'http://127.0.0.1:9', clientId: 'okki-id', clientSecret: live.OKKI_CLIENT_SECRET, scope: 'product customer', pageSize: 50, qps: 2.5 });
    expect(c.dingtalk).to.deep.equal({ appKey: 'ding-app-key', appSecret: live.DINGTALK_APP_SECRET, endpoint: '127.0.0.1:7001', protocol: 'http' });
    expect(c.yida).to.include({ processCode: 'TPROC--1', language: 'en_US', qps: 20, concurrency: 4 });
    expect(c.store.kind).to.equal('redis');
    expect(c.sync).to.deep.equal({ cron: '*/5 * * * * *', timezone: 'UTC', lookbackSeconds: 90, cursorMaxAgeSeconds: 7200 });
    expect(c.publicUrl).to.equal('https://c.example.com');
    expect(c.robot).to.deep.equal({ webhookUrl: 'http://127.0.0.1:7001/robot/send?access_token=robot-token-VALUE', secret: 'SECrobot-VALUE' });
  });

  it('SANDBOX=1 forces the simulators even with credentials', () => {
    const c = loadConfig({ ...live, SANDBOX: '1' });
    expect(c.sandbox).to.equal(true);
    expect(c.sandboxReason).to.equal('SANDBOX=1');
  });

  it('names every missing variable when credentials are only partly set', () => {
    const problems = problemsOf({ OKKI_CLIENT_ID: 'x', OKKI_CLIENT_SECRET: 'y' });
    for (const v of ['DINGTALK_APP_KEY', 'DINGTALK_APP_SECRET', 'YIDA_APP_TYPE', 'YIDA_SYSTEM_TOKEN', 'YIDA_USER_ID', 'YIDA_FORM_UUID']) {
      expect(problems.some((p) => p.startsWith(`${v}:`)), v).to.equal(true);
    }
  });

  it('sandbox mode binds 127.0.0.1 unless HOST says otherwise; a live config binds 0.0.0.0 by default', () => {
    expect(loadConfig({}).host).to.equal('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0' }).host).to.equal('0.0.0.0');
    expect(loadConfig({ ...live, SANDBOX: '1' }).host).to.equal('127.0.0.1');
    expect(loadConfig(live).host).to.equal('0.0.0.0');
    expect(loadConfig({ ...live, HOST: '10.1.2.3' }).host).to.equal('10.1.2.3');
  });

  it('stops start-up, naming the missing ones, when some but not all credential variables are set (also only Yida\'s)', () => {
    // A deployment that lost its OKKI/DingTalk secrets must not come up as a simulator with an open webhook.
    const yidaOnly = { YIDA_APP_TYPE: 'APP_X', YIDA_SYSTEM_TOKEN: 'yida-system-token-VALUE', YIDA_USER_ID: 'u', YIDA_FORM_UUID: 'FORM-1' };
    const problems = problemsOf(yidaOnly);
    expect(problems.map((p) => p.split(':')[0])).to.deep.equal(['OKKI_CLIENT_ID', 'OKKI_CLIENT_SECRET', 'DINGTALK_APP_KEY', 'DINGTALK_APP_SECRET']);
    expect(problems[0]).to.include('because YIDA_APP_TYPE, YIDA_SYSTEM_TOKEN, YIDA_USER_ID, YIDA_FORM_UUID are set');
    expect(problemsOf({ DINGTALK_APP_SECRET: 'ding-secret-VALUE' })).to.have.length(7);
    const { OKKI_CLIENT_SECRET: _gone, ...noOkkiSecret } = live;
    expect(problemsOf(noOkkiSecret).map((p) => p.split(':')[0])).to.deep.equal(['OKKI_CLIENT_SECRET']);
    for (const p of problemsOf(yidaOnly)) expect(p).not.to.include('VALUE');
  });

  it('requires https for OKKI, DingTalk and the robot outside sandbox mode, except to loopback hosts', () => {
    const bad = (env: Record<string, string>) => problemsOf({ ...live, ...env }).map((p) => p.split(':')[0]);
    expect(bad({ OKKI_BASE_URL: 'http://api.xiaoman.cn' })).to.deep.equal(['OKKI_BASE_URL']);
    expect(bad({ DINGTALK_PROTOCOL: 'http' })).to.deep.equal(['DINGTALK_PROTOCOL']);
    expect(bad({ DINGTALK_PROTOCOL: 'http', DINGTALK_ENDPOINT: '10.0.0.5:8080' })).to.deep.equal(['DINGTALK_PROTOCOL']);
    expect(bad({ ROBOT_WEBHOOK_URL: 'http://oapi.dingtalk.com/robot/send?access_token=robot-token-VALUE' })).to.deep.equal(['ROBOT_WEBHOOK_URL']);
    expect(bad({ OKKI_BASE_URL: 'http://localhost:8080' }), 'a name is not loopback: it resolves').to.deep.equal(['OKKI_BASE_URL']);
    // loopback fakes and local proxies: 127.0.0.0/8 and ::1
    const ok = loadConfig({
      ...live, OKKI_BASE_URL: 'http://127.0.0.1:9', DINGTALK_PROTOCOL: 'http', DINGTALK_ENDPOINT: '127.8.9.10:7001',
      ROBOT_WEBHOOK_URL: 'http://[::1]:7001/robot/send?access_token=robot-token-VALUE',
    });
    expect(ok.okki.baseUrl).to.equal('http://127.0.0.1:9');
    // sandbox mode points everything at its own loopback simulators and is not checked
    expect(loadConfig({ OKKI_BASE_URL: 'http://api.xiaoman.cn', DINGTALK_PROTOCOL: 'http' }).sandbox).to.equal(true);
  });

  it('HTTP_KEEP_ALIVE_TIMEOUT: seconds, default 65 (above a balancer\'s 60 s idle timeout)', () => {
    expect(loadConfig({ HTTP_KEEP_ALIVE_TIMEOUT: '120' }).keepAliveTimeoutMs).to.equal(120_000);
    expect(problemsOf({ HTTP_KEEP_ALIVE_TIMEOUT: '0' })).to.deep.equal(['HTTP_KEEP_ALIVE_TIMEOUT: expected a whole number from 1 to 3600']);
  });

  it('lists every bad value with the variable name and what was expected, never the value', () => {
    const env = {
      ...live, PORT: 'eighty', OKKI_QPS: '0', OKKI_PAGE_SIZE: '-1', DINGTALK_ENDPOINT: 'https://api.dingtalk.com',
      DINGTALK_PROTOCOL: 'ftp', YIDA_CONCURRENCY: '1000', STORE_URL: 'mysql://secret-store-VALUE', SYNC_CRON: 'every minute',
      SYNC_TIMEZONE: 'Mars/Olympus', SYNC_LOOKBACK: 'half an hour', OKKI_BASE_URL: 'not a url', WEBHOOK_API_KEY: 'short-VALUE',
    };
    let message = '';
    try { loadConfig(env); } catch (err) { message = (err as Error).message; }
    for (const v of ['PORT', 'OKKI_QPS', 'OKKI_PAGE_SIZE', 'DINGTALK_ENDPOINT', 'DINGTALK_PROTOCOL', 'YIDA_CONCURRENCY', 'STORE_URL', 'SYNC_CRON', 'SYNC_TIMEZONE', 'SYNC_LOOKBACK', 'OKKI_BASE_URL', 'WEBHOOK_API_KEY']) {
      expect(message, v).to.match(new RegExp(`${v}: expected`));
    }
    for (const value of Object.values(env).filter((v) => v.includes('VALUE'))) expect(message).not.to.include(value);
  });

  it('checks the robot webhook once, here: an http(s) URL carrying its access_token (the robot client trusts it)', () => {
    const bad = (url: string) => problemsOf({ ...live, ROBOT_WEBHOOK_URL: url }).filter((p) => p.startsWith('ROBOT_WEBHOOK_URL'));
    expect(bad('not a url')).to.deep.equal(['ROBOT_WEBHOOK_URL: expected an absolute http(s) URL']);
    expect(bad('https://oapi.dingtalk.com/robot/send')).to.deep.equal(['ROBOT_WEBHOOK_URL: expected an access_token query parameter']);
    expect(loadConfig({ ...live, ROBOT_WEBHOOK_URL: 'https://oapi.dingtalk.com/robot/send?access_token=robot-token-VALUE' }).robot?.webhookUrl).to.include('access_token=');
  });

  it('parses lookback durations as HH:MM:SS or seconds', () => {
    expect(parseDuration('00:30:01')).to.equal(1801);
    expect(parseDuration('120')).to.equal(120);
    expect(parseDuration('1:00:00')).to.equal(3600);
    expect(parseDuration('00:61:00')).to.equal(undefined);
    expect(parseDuration('soon')).to.equal(undefined);
  });

  it('knows every secret, including the robot access_token and a store password, and redacts all their forms', () => {
    const c = loadConfig({
      ...live, ROBOT_WEBHOOK_URL: 'http://127.0.0.1:1/robot/send?access_token=robot-token-VALUE', ROBOT_SECRET: 'SEC+robot/VALUE',
      WEBHOOK_API_KEY: 'api-key-VALUE-0123456789', STORE_URL: 'redis://:store-pw-VALUE@127.0.0.1:6379',
    });
    const secrets = secretValues(c);
    for (const s of [live.OKKI_CLIENT_SECRET, live.DINGTALK_APP_SECRET, live.YIDA_SYSTEM_TOKEN, 'robot-token-VALUE', 'SEC+robot/VALUE', 'api-key-VALUE-0123456789', 'store-pw-VALUE']) {
      expect(secrets).to.include(s);
    }
    const r = makeRedactor(secrets);
    const text = `a ${live.OKKI_CLIENT_SECRET} b ${encodeURIComponent('SEC+robot/VALUE')} c robot-token-VALUE`;
    expect(r(text)).to.equal('a *** b *** c ***');
  });
});
