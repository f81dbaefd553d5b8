/**
 * Start-up time and idle memory of the service, run two ways: through the TypeScript loader
 * (`node --import tsx src/main.ts`, what `npm start` does) and compiled (`node dist/main.js`, after `npm run build`).
 * Live mode against the loopback simulators (no sandbox simulators in the measured process), a fresh sqlite store,
 * no run. Start-up = from spawn to the "listening" log line; idle RSS = VmRSS 5 s later. Median of 3 starts each.
 *
 *   npm run build && npm run bench:startup
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { connectorEnv, removeTempStores, startSims, tempStoreUrl } from './sims.js';

const ROOT = resolve(import.meta.dirname, '..');
const ROUNDS = 3;
const IDLE_MS = 5_000;

interface Sample { startMs: number; rssMb: number }

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

async function measure(args: string[], env: Record<string, string>): Promise<Sample> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  try {
    const startMs = await new Promise<number>((res, rej) => {
      let out = '';
      const timer = setTimeout(() => rej(new Error(`no listening line within 60 s: ${err.slice(-500)}`)), 60_000);
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('"okki-yida-connector listening"')) { clearTimeout(timer); res(performance.now() - t0); }
      });
      child.once('exit', (c) => { clearTimeout(timer); rej(new Error(`exited ${c}: ${err.slice(-500)}`)); });
    });
    await new Promise((r) => setTimeout(r, IDLE_MS));
    return { startMs: Math.round(startMs), rssMb: rssMb(child.pid!) };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  if (!existsSync(resolve(ROOT, 'dist', 'main.js'))) throw new Error('dist/main.js is missing: run `npm run build` first');
  const sims = await startSims({ products: 10, latencyMs: [0, 0] });
  try {
    const ways: Array<[string, string[]]> = [
      ['node --import tsx src/main.ts', ['--import', 'tsx', 'src/main.ts']],
      ['node dist/main.js', ['dist/main.js']],
    ];
    const rows: string[] = [];
    for (const [label, args] of ways) {
      const samples: Sample[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        samples.push(await measure(args, connectorEnv(sims, { storeUrl: tempStoreUrl('startup'), okkiQps: 5, yidaQps: 15 })));
      }
      rows.push(`| \`${label}\` | ${median(samples.map((s) => s.startMs))} | ${median(samples.map((s) => s.rssMb))} | ${samples.map((s) => `${s.startMs} ms / ${s.rssMb} MB`).join(', ')} |`);
    }
    process.stdout.write(`Node ${process.version}, ${ROUNDS} starts each, median\n\n| start command | start-up (ms) | idle RSS (MB) | samples |\n|---|---:|---:|---|\n${rows.join('\n')}\n`);
  } finally {
    await sims.close();
    removeTempStores();
  }
}

main().catch((err) => { process.stderr.write(`${String(err?.stack ?? err)}\n`); process.exit(1); });
