/**
 * A loopback stand-in for DingTalk's custom-robot webhook that checks requests the way DingTalk does:
 * access_token, then (when the robot has a secret) timestamp within one hour and
 * sign == base64(HMAC-SHA256(secret, `${timestamp}\n${secret}`)) after URL decoding; errcode 310000 otherwise.
 */
import http from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface ReceivedMessage { body: any; timestamp?: string; rawQuery: string }

export interface ForcedAnswer { status?: number; body?: unknown; rawBody?: string; delayMs?: number }

export interface FakeRobot {
  /** webhook URL with the access_token, as an operator would configure it */
  url: string;
  token: string;
  /** messages accepted (errcode 0) */
  messages: ReceivedMessage[];
  /** every request that reached the server, accepted or not */
  requests: number;
  /** answers to use, in order, instead of checking (one per request) */
  force(...answers: ForcedAnswer[]): void;
  /** the server's own clock for the timestamp check */
  serverNow: () => number;
  close(): Promise<void>;
}

export async function startFakeRobot(opts: { token?: string; secret?: string; serverNow?: () => number } = {}): Promise<FakeRobot> {
  const token = opts.token ?? 'tok-0123456789abcdef';
  const forced: ForcedAnswer[] = [];
  const robot = { messages: [] as ReceivedMessage[], requests: 0 } as FakeRobot;
  robot.serverNow = opts.serverNow ?? Date.now;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      robot.requests += 1;
      const answer = (status: number, body: unknown, raw?: string) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(raw ?? JSON.stringify(body));
      };
      const f = forced.shift();
      if (f) {
        setTimeout(() => { if (!res.destroyed) answer(f.status ?? 200, f.body ?? { errcode: 0, errmsg: 'ok' }, f.rawBody); }, f.delayMs ?? 0);
        return;
      }
      const u = new URL(req.url ?? '/', 'http://127.0.0.1');
      const rawQuery = u.search;
      if (req.method !== 'POST' || u.pathname !== '/robot/send') return answer(404, { errcode: 404, errmsg: 'not found' });
      if (u.searchParams.get('access_token') !== token) return answer(200, { errcode: 300001, errmsg: 'token is not exist' });
      const ts = u.searchParams.get('timestamp') ?? undefined;
      if (opts.secret !== undefined) {
        const sign = u.searchParams.get('sign');
        if (!ts || !/^\d+$/.test(ts) || Math.abs(robot.serverNow() - Number(ts)) > 3600_000) return answer(200, { errcode: 310000, errmsg: 'invalid timestamp' });
        const expected = createHmac('sha256', opts.secret).update(`${ts}\n${opts.secret}`).digest();
        const given = Buffer.from(sign ?? '', 'base64');
        if (given.length !== expected.length || !timingSafeEqual(given, expected)) return answer(200, { errcode: 310000, errmsg: 'sign not match' });
      }
      let body: any;
      try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { return answer(200, { errcode: 40035, errmsg: 'invalid json' }); }
      if (body?.msgtype !== 'markdown' || typeof body?.markdown?.title !== 'string' || typeof body?.markdown?.text !== 'string') {
        return answer(200, { errcode: 40035, errmsg: 'missing markdown' });
      }
      robot.messages.push({ body, timestamp: ts, rawQuery });
      answer(200, { errcode: 0, errmsg: 'ok' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  robot.url = `http://127.0.0.1:${port}/robot/send?access_token=${token}`;
  robot.token = token;
  robot.force = (...answers) => { forced.push(...answers); };
  robot.close = () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return robot;
}
