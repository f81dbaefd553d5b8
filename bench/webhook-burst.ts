/**
 * Item 6: the real service (`src/main.ts`: createApp + startHttpServer + the engine) in its own process against the
 * simulators, and bursts of concurrent webhook calls from here: answer latency per call, and how many runs they
 * started (single-flight: must be 1).
 */
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { PROJECT_ROOT } from './child-protocol.js';

export const WEBHOOK_PATH = '/webhooks/yida/sync';

export interface CallTiming { ms: number; status: number; runId?: string; coalesced?: boolean }

export interface ServiceHandle {
  url: string;
  child: ChildProcess;
  /** handler time the service logged ('http request' durationMs, request in → answer out) per path */
  serverDurations: Map<string, number[]>;
  stop(): Promise<void>;
}

/** Spawn `node --import tsx src/main.ts` and resolve once it logs that it is listening. */
export function startService(env: Record<string, string>, timeoutMs = 30_000, nodeArgs: string[] = []): Promise<ServiceHandle> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, 'src/main.ts'], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production', ...env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    let errTail = '';
    let settled = false;
    const serverDurations = new Map<string, number[]>();
    const timer = setTimeout(() => { if (!settled) { settled = true; child.kill('SIGKILL'); reject(new Error(`service did not start within ${timeoutMs} ms: ${errTail}`)); } }, timeoutMs);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { errTail = (errTail + d).slice(-2000); });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl); buf = buf.slice(nl + 1);
        try {
          const rec = JSON.parse(line) as { msg?: string; url?: string; path?: string; durationMs?: number };
          if (rec.msg === 'http request' && rec.path && typeof rec.durationMs === 'number') {
            const list = serverDurations.get(rec.path) ?? [];
            list.push(rec.durationMs);
            serverDurations.set(rec.path, list);
          }
          if (!settled && rec.msg === 'okki-yida-connector listening' && rec.url) {
            settled = true; clearTimeout(timer);
            resolve({
              url: rec.url, child, serverDurations,
              stop: () => new Promise<void>((done) => {
                if (child.exitCode !== null) { done(); return; }
                const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
                child.once('exit', () => { clearTimeout(kill); done(); });
                child.kill('SIGTERM');
              }),
            });
          }
        } catch { /* not JSON */ }
      }
    });
    child.on('exit', (code) => { if (!settled) { settled = true; clearTimeout(timer); reject(new Error(`service exited with ${code}: ${errTail}`)); } });
  });
}

/** One call on a connection of its own (as 200 separate Yida buttons would make), timed to the last byte. */
function callOnce(url: string, apiKey: string, path: string, agent: http.Agent | false): Promise<CallTiming> {
  return new Promise((resolve) => {
    const started = performance.now();
    const post = path === WEBHOOK_PATH;
    const body = post ? '{}' : '';
    const req = http.request(`${url}${path}`, {
      method: post ? 'POST' : 'GET', agent,
      headers: post ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-api-key': apiKey } : {},
    }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => { text += d; });
      res.on('end', () => {
        const ms = performance.now() - started;
        try { const j = JSON.parse(text) as { runId?: string; coalesced?: boolean }; resolve({ ms, status: res.statusCode ?? 0, runId: j.runId, coalesced: j.coalesced }); }
        catch { resolve({ ms, status: res.statusCode ?? 0 }); }
      });
    });
    req.on('error', () => resolve({ ms: performance.now() - started, status: 0 }));
    req.end(body);
  });
}

/**
 * `n` calls at once: the webhook (default) or, as a transport baseline, another path such as /healthz. Each on a new
 * connection (agent false), or on the sockets of a keep-alive agent warmed beforehand.
 */
export function burst(url: string, apiKey: string, n: number, path = WEBHOOK_PATH, agent: http.Agent | false = false): Promise<CallTiming[]> {
  return Promise.all(Array.from({ length: n }, () => callOnce(url, apiKey, path, agent)));
}

/** A keep-alive agent with `n` sockets already connected (warmed with GET /healthz), so a burst measures answers only. */
export async function warmAgent(url: string, n: number): Promise<http.Agent> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: n, maxFreeSockets: n, keepAliveMsecs: 30_000 });
  await burst(url, '', n, '/healthz', agent);
  return agent;
}

/** `burst` run in a child process of its own (see burst-child.ts). */
export function burstFromChild(url: string, apiKey: string, n: number, path = WEBHOOK_PATH, keepAlive = false): Promise<CallTiming[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/burst-child.ts', url, apiKey, String(n), path, keepAlive ? 'keepalive' : 'new'], {
      cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.on('exit', (code) => {
      try { resolve(JSON.parse(out) as CallTiming[]); } catch { reject(new Error(`burst child exited ${code} without timings`)); }
    });
  });
}

export async function getJson<T>(url: string, apiKey: string): Promise<T> {
  const res = await fetch(url, { headers: { 'x-api-key': apiKey } });
  return (await res.json()) as T;
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
