/**
 * One-shot CLI (`npm run sync -- [--full] [--product-no X]... [--dry-run] [--limit N]`).
 * Exit codes: 0 succeeded, 2 partial (some products rejected or failed), 1 failed or bad usage.
 */
import { parseArgs } from 'node:util';
import dotenv from 'dotenv';
import { loadConfig, secretValues, type Config } from './config.js';
import { redact, setGlobalSecrets } from './redact.js';
import { errorMessage } from './errors.js';
import { createLogger } from './log.js';
import { buildConnector } from './connector.js';
import { startSandbox, type Sandbox } from './sandbox/index.js';
import { windowFor } from './sync/window.js';
import type { RunRecord } from './core/index.js';

const USAGE = `usage: npm run sync -- [--full] [--product-no P-001 ...] [--dry-run] [--limit N]
  --full            read the whole catalogue, not just what changed since the cursor
  --product-no X    sync only this product number (repeatable)
  --dry-run         map products and print the Yida form data (or why a product is rejected); write nothing
  --limit N         with --dry-run: how many products to show (default 5)`;

function exitCodeFor(run: RunRecord | undefined): number {
  if (!run) return 1;
  return run.status === 'succeeded' ? 0 : run.status === 'partial' ? 2 : 1;
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv, allowPositionals: false,
      options: {
        full: { type: 'boolean', default: false }, 'product-no': { type: 'string', multiple: true },
        'dry-run': { type: 'boolean', default: false }, limit: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`${errorMessage(err)}\n${USAGE}\n`);
    return 1;
  }
  if (args.help) { process.stdout.write(`${USAGE}\n`); return 0; }
  const limit = args.limit === undefined ? 5 : Number(args.limit);
  if (!Number.isInteger(limit) || limit < 1) { process.stderr.write(`--limit: expected a whole number from 1 up\n${USAGE}\n`); return 1; }
  const productNos = (args['product-no'] ?? []).map((s) => s.trim()).filter(Boolean);
  if (args.full && productNos.length) { process.stderr.write(`--full and --product-no exclude each other\n${USAGE}\n`); return 1; }

  dotenv.config({ quiet: true });
  let config: Config;
  try { config = loadConfig(process.env); } catch (err) { process.stderr.write(`${errorMessage(err)}\n`); return 1; }
  setGlobalSecrets(secretValues(config));
  // Logs go to stderr so stdout carries only the result.
  const logger = createLogger({ stream: process.stderr, level: process.env.LOG_LEVEL ?? 'warn' });
  let sandbox: Sandbox | undefined;
  if (config.sandbox) {
    sandbox = await startSandbox(config, { logger, storeUrlSet: Boolean(process.env.STORE_URL?.trim()), okkiQpsSet: Boolean(process.env.OKKI_QPS?.trim()) });
    config = sandbox.config;
    setGlobalSecrets(secretValues(config));
    process.stderr.write(`SANDBOX MODE (${config.sandboxReason}): reading and writing the built-in simulators, not real OKKI/DingTalk\n`);
  }
  const connector = await buildConnector(config, { logger });
  try {
    if (args['dry-run']) {
      const groups = await connector.source.groups();
      const cursor = await connector.stores.cursor.get();
      const now = new Date();
      const ctx = { groups, lastSyncTime: cursor, now, timezone: config.sync.timezone };
      const { detailFields } = connector;
      const pages = productNos.length
        ? connector.source.byProductNos(productNos, { detailFields })
        : connector.source.pages(windowFor(args.full ? 'full' : 'incremental', cursor, config.sync.lookbackSeconds, now), { detailFields });
      let shown = 0;
      outer: for await (const page of pages) {
        for (const r of page.rejected) {
          process.stdout.write(`${JSON.stringify({ product_no: r.product_no, rejected: { code: r.code, reason: r.reason } })}\n`);
          if (++shown >= limit) break outer;
        }
        for (const p of page.items) {
          const m = connector.mapping.map(p, ctx);
          process.stdout.write(`${JSON.stringify(m.ok ? { product_no: m.productNo, formData: m.formData } : { product_no: m.rejected.product_no, rejected: { code: m.rejected.code, reason: m.rejected.reason } })}\n`);
          if (++shown >= limit) break outer;
        }
      }
      process.stderr.write(`dry run: ${shown} product(s) shown, nothing written\n`);
      return 0;
    }
    const t = await connector.engine.trigger({ trigger: 'cli', mode: args.full ? 'full' : 'incremental', productNos: productNos.length ? productNos : undefined, requestedBy: process.env.USER ?? 'cli' });
    if (t.coalesced) process.stderr.write(`a run is already in progress (${t.runId}); following it\n`);
    const run = await connector.engine.waitForRun(t.runId, 24 * 3600_000);
    process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
    return exitCodeFor(run);
  } finally {
    await connector.close();
    await sandbox?.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => { process.stderr.write(`sync failed: ${redact(errorMessage(err))}\n`); process.exit(1); },
);
