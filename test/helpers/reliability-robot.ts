/**
 * A DingTalk custom robot on loopback that fails on purpose: each message, by a seeded draw, is refused with HTTP 500,
 * errcode -1 (系统繁忙), a dropped connection or a slow 502 (never 410100: that is the budget block, which rightly
 * silences a client for 10 minutes), or else checked like DingTalk does
 * (access_token, then timestamp + HMAC sign) and accepted. Every body that arrives is kept for the secrets audit.
 */
import http from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { seeded } from './reliability.js';

export interface FlakyRobot {
  url: string;
  token: string;
  secret: string;
  /** accepted message bodies */
  accepted: unknown[];
  /** raw text of every request (query without the sign, and body) */
  received: string[];
  failures: number;
  close(): Promise<void>;
}

export async function startFlakyRobot(opts: {
  seed: number; failRate: number; token: string; secret: string;
  /** how long the slow failure takes */
  slowMs?: number;
  /** delay before an accepted message is answered */
  okDelayMs?: number;
}): Promise<FlakyRobot> {
  const rand = seeded(opts.seed);
  const robot: FlakyRobot = { url: '', token: opts.token, secret: opts.secret, accepted: [], received: [], failures: 0, close: async () => undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const u = new URL(req.url ?? '/', 'http://127.0.0.1');
      robot.received.push(`${u.pathname} ${body}`);
      const json = (status: number, payload: unknown) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(payload)); };
      if (rand() < opts.failRate) {
        robot.failures++;
        const kind = Math.floor(rand() * 4);
        if (kind === 0) return json(500, { errcode: 500, errmsg: 'system busy' });
        if (kind === 1) return json(200, { errcode: -1, errmsg: '系统繁忙' });
        if (kind === 2) { req.socket.destroy(); return undefined; }
        setTimeout(() => { if (!res.destroyed) json(502, { errcode: 502, errmsg: 'bad gateway' }); }, opts.slowMs ?? 3000);
        return undefined;
      }
      if (u.searchParams.get('access_token') !== opts.token) return json(200, { errcode: 300001, errmsg: 'token is not exist' });
      const ts = u.searchParams.get('timestamp') ?? '';
      const sign = u.searchParams.get('sign') ?? '';
      const expected = createHmac('sha256', opts.secret).update(`${ts}\n${opts.secret}`).digest();
      const given = Buffer.from(sign, 'base64');
      if (!/^\d+$/.test(ts) || given.length !== expected.length || !timingSafeEqual(given, expected)) return json(200, { errcode: 310000, errmsg: 'sign not match' });
      try { robot.accepted.push(JSON.parse(body)); } catch { return json(200, { errcode: 40035, errmsg: 'invalid json' }); }
      if (opts.okDelayMs) { setTimeout(() => { if (!res.destroyed) json(200, { errcode: 0, errmsg: 'ok' }); }, opts.okDelayMs); return undefined; }
      return json(200, { errcode: 0, errmsg: 'ok' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  robot.url = `http://127.0.0.1:${port}/robot/send?access_token=${opts.token}`;
  robot.close = () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
  return robot;
}
