/** Puts a Koa app on a socket, with server-level timeouts and a shutdown that waits for open requests, bounded. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';

export interface HttpServerHandle {
  server: http.Server;
  /** base URL a local client can use (a wildcard listen address becomes 127.0.0.1 / ::1) */
  url: string;
  /** stop accepting, let open requests finish for at most `graceMs` (default 5 s), then cut what is left */
  close(opts?: { graceMs?: number }): Promise<void>;
}

export interface ListenOptions {
  port: number;
  host: string;
  /** default grace period for close() */
  graceMs?: number;
  /**
   * how long an idle keep-alive connection stays open (HTTP_KEEP_ALIVE_TIMEOUT; default 65 s). It must outlast the idle
   * timeout of a load balancer in front (60 s on the common ones), or the balancer reuses a connection this side is
   * closing and answers 502.
   */
  keepAliveTimeoutMs?: number;
}

export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 65_000;

export async function startHttpServer(app: Koa<any, any>, opts: ListenOptions): Promise<HttpServerHandle> {
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new RangeError(`startHttpServer: port must be 0..65535 (got ${String(opts.port)})`);
  if (typeof opts.host !== 'string' || opts.host === '') throw new TypeError('startHttpServer: host is required');
  const defaultGrace = opts.graceMs ?? 5_000;

  // Node checks headersTimeout/requestTimeout only every connectionsCheckingInterval (30 s by default): check each
  // second, so a slow-loris header sender is cut near the configured limit.
  const server = http.createServer({ connectionsCheckingInterval: 1000 }, app.callback());
  // Node's own guard against slow senders: a whole request (headers and body) within 30 s (the webhook enforces its
  // tighter body deadline itself). headersTimeout sits above keepAliveTimeout, as balancer guides ask (Node ≥ 18 only
  // times a request once its first byte arrives, so requestTimeout still cuts slow headers at 30 s).
  const keepAliveTimeoutMs = opts.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
  if (!Number.isInteger(keepAliveTimeoutMs) || keepAliveTimeoutMs < 1) throw new RangeError('startHttpServer: keepAliveTimeoutMs must be a whole number of milliseconds ≥ 1');
  server.keepAliveTimeout = keepAliveTimeoutMs;
  server.headersTimeout = keepAliveTimeoutMs + 1_000;
  server.requestTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => { server.off('error', onError); resolve(); });
  });

  const addr = server.address() as AddressInfo;
  const host = addr.address === '0.0.0.0' ? '127.0.0.1' : addr.address === '::' ? '::1' : addr.address;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`;

  let closing: Promise<void> | undefined;
  function close(closeOpts: { graceMs?: number } = {}): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      const graceMs = closeOpts.graceMs ?? defaultGrace;
      const force = setTimeout(() => server.closeAllConnections(), graceMs);
      force.unref();
      server.close(() => { clearTimeout(force); resolve(); });
      server.closeIdleConnections();
    });
    return closing;
  }

  return { server, url, close };
}
