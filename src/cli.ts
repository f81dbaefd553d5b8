/**
 * One-shot CLI (`npm run sync -- [--full] [--product-no X]... [--dry-run] [--limit N]`).
 * Exit codes: 0 succeeded, 2 partial (some products rejected or failed), 1 failed or bad usage.
 */
import { parseArgs } from 'node:util';
import type { Config } from './config.js';
import { redact } from './redact.js';
import { errorMessage } from './errors.js';
import { createLogger } from './log.js';
import { readConfig, startRuntime, type Runtime } from './startup.js';
import { previewPages, type PreviewItem } from './mapping/preview.js';
import { windowFor } from './sync/window.js';
import { productNoList, type RunProgress, type RunRecord, type SyncService } from './core/index.js';
import { startCliProgress } from './cli-progress.js';
import { installCrashHandlers } from './crash.js';

installCrashHandlers({ name: 'npm run sync' });

const USAGE = `usage: npm run sync -- [--full] [--product-no P-001 ...] [--dry-run] [--limit N] [--quiet] [--progress-every S]
  --full            read the whole catalogue, not just what changed since the cursor
  --product-no X    sync only this product number (repeatable)
  --dry-run         map products and print the Yida form data (or why a product is rejected); write nothing
  --limit N         with --dry-run: how many products to show (default 5)
  --quiet           no progress on stderr
  --progress-every S  when stderr is not a terminal: a progress line every S seconds (default 10)`;

function exitCodeFor(run: RunRecord | undefined): number {
  if (!run) return 1;
  return run.status === 'succeeded' ? 0 : run.status === 'partial' ? 2 : 1;
}

/** The run's progress on stderr: the engine's progress events when it has them, its live record otherwise. */
function followProgress(service: SyncService, runId: string, plainEveryMs: number) {
  let live: RunProgress | undefined;
  const unsubscribe = service.subscribe?.((e) => { if (e.type === 'progress' && e.progress.runId === runId) live = e.progress; });
  const bar = startCliProgress({ sample: async () => ({ run: await service.getRun(runId), live }), out: process.stderr, plainEveryMs });
  return { async stop() { unsubscribe?.(); await bar.stop(); } };
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv, allowPositionals: false,
      options: {
        full: { type: 'boolean', default: false }, 'product-no': { type: 'string', multiple: true },
        'dry-run': { type: 'boolean', default: false }, limit: { type: 'string' }, help: { type: 'boolean', short: 'h' },
        quiet: { type: 'boolean', default: false }, 'progress-every': { type: 'string' },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`${errorMessage(err)}\n${USAGE}\n`);
    return 1;
  }
  if (args.help) { process.stdout.write(`${USAGE}\n`); return 0; }
  const limit = args.limit === undefined ? 5 : Number(args.limit);
  if (!Number.isInteger(limit) || limit < 1) { process.stderr.write(`--limit: expected a whole number from 1 up\n${USAGE}\n`); return 1; }
  const productNos = productNoList(args['product-no'] ?? []);
  const progressEvery = args['progress-every'] === undefined ? 10 : Number(args['progress-every']);
  if (!(progressEvery > 0)) { process.stderr.write(`--progress-every: expected a number of seconds above 0\n${USAGE}\n`); return 1; }
  if (args.full && productNos.length) { process.stderr.write(`--full and --product-no exclude each other\n${USAGE}\n`); return 1; }

  let base: Config;
  try { base = readConfig(process.env); } catch (err) { process.stderr.write(`${errorMessage(err)}\n`); return 1; }
  // Logs go to stderr so stdout carries only the result.
  const logger = createLogger({ stream: process.stderr, level: process.env.LOG_LEVEL ?? 'warn' });
  installCrashHandlers({ logger });
  const runtime = await startRuntime(base, { logger });
  const { config, connector } = runtime;
  if (config.sandbox) process.stderr.write(`SANDBOX MODE (${config.sandboxReason}): reading and writing the built-in simulators, not real OKKI/DingTalk\n`);
  try {
    if (args['dry-run']) return await dryRun(runtime, { full: args.full, productNos, limit });
    const t = await connector.engine.trigger({ trigger: 'cli', mode: args.full ? 'full' : 'incremental', productNos: productNos.length ? productNos : undefined, requestedBy: process.env.USER ?? 'cli' });
    if (t.coalesced) process.stderr.write(`a run is already in progress (${t.runId}); following it\n`);
    const progress = args.quiet ? undefined : followProgress(connector.engine, t.runId, progressEvery * 1000);
    const run = await connector.engine.waitForRun(t.runId, 24 * 3600_000);
    await progress?.stop();
    process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
    return exitCodeFor(run);
  } finally {
    await runtime.close();
  }
}

/** Map products and print what Yida would receive (or why a product is rejected), one JSON line each; write nothing. */
async function dryRun(runtime: Runtime, opts: { full: boolean; productNos: string[]; limit: number }): Promise<number> {
  const { config, connector } = runtime;
  const groups = await connector.source.groups();
  const cursor = await connector.stores.cursor.get();
  const now = new Date();
  const ctx = { groups, lastSyncTime: cursor, now, timezone: config.sync.timezone };
  const pages = opts.productNos.length
    ? connector.source.byProductNos(opts.productNos)
    : connector.source.pages(windowFor(opts.full ? 'full' : 'incremental', cursor, config.sync.lookbackSeconds, now));
  let shown = 0;
  for await (const item of previewPages(pages, connector.mapping, ctx, opts.limit)) {
    process.stdout.write(`${JSON.stringify(dryRunLine(item))}\n`);
    shown++;
  }
  process.stderr.write(`dry run: ${shown} product(s) shown, nothing written\n`);
  return 0;
}

function dryRunLine(item: PreviewItem): unknown {
  if (item.rejected) return { product_no: item.product_no, rejected: { code: item.rejected.code, reason: item.rejected.reason } };
  return { product_no: item.product_no, formData: item.formData };
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => { process.stderr.write(`sync failed: ${redact(errorMessage(err))}\n`); process.exit(1); },
);
