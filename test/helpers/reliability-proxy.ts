/**
 * A loopback pass-through proxy that remembers every access token it sees (in token answers and in request headers),
 * so the secrets audit can look for the tokens the service was issued at run time, not only the configured secrets.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CapturingProxy {
  /** http://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT (what DINGTALK_ENDPOINT takes) */
  endpoint: string;
  tokens: Set<string>;
  close(): Promise<void>;
}

const TOKEN_KEYS = ['access_token', 'accessToken'];

export async function startCapturingProxy(target: string): Promise<CapturingProxy> {
  const base = new URL(target);
  const tokens = new Set<string>();
  const keep = (v: unknown) => { if (typeof v === 'string' && v.length >= 8) tokens.add(v); };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      keep(req.headers['x-acs-dingtalk-access-token']);
      const auth = req.headers.authorization;
      if (auth && /^Bearer /i.test(auth)) keep(auth.slice(7).trim());
      const headers = { ...req.headers, host: base.host };
      const out = http.request({ host: base.hostname, port: base.port, method: req.method, path: req.url, headers }, (up) => {
        const body: Buffer[] = [];
        up.on('data', (c: Buffer) => body.push(c));
        up.on('end', () => {
          const buf = Buffer.concat(body);
          try {
            const json = JSON.parse(buf.toString('utf8')) as Record<string, unknown>;
            for (const k of TOKEN_KEYS) keep(json?.[k]);
          } catch { /* not JSON */ }
          res.writeHead(up.statusCode ?? 502, up.headers);
          res.end(buf);
        });
        up.on('error', () => res.destroy());
      });
      out.on('error', () => { if (!res.headersSent) { res.writeHead(502); res.end(); } else res.destroy(); });
      out.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    endpoint: `127.0.0.1:${port}`,
    tokens,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
