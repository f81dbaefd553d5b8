/**
 * `npm run okki:subscribe -- --callback-url URL [--test] [--regenerate-secret]`: sets up OKKI's message push for this
 * connector with the OKKI app's own credentials (OKKI_CLIENT_ID / OKKI_CLIENT_SECRET, OKKI_BASE_URL): the callback
 * (POST /v1/webhook; an existing one is moved with PUT, its secret kept) and the crm.product subscription (create,
 * update, delete). A security_config OKKI issues is printed once, on stdout, as `OKKI_WEBHOOK_SECRET=…`; it is never
 * stored or logged. `--test` then asks OKKI to deliver its test event to the callback.
 * Exit codes: 0 done, 1 failed (or the test event was not answered right), 2 bad usage.
 */
import { parseArgs } from 'node:util';
import dotenv from 'dotenv';
import { loadConfig } from './config.js';
import { redact, setGlobalSecrets, addSecret } from './redact.js';
import { errorMessage } from './errors.js';
import { createLogger } from './log.js';
import { installCrashHandlers } from './crash.js';
import { OkkiClient } from './okki/index.js';
import { registerCallback, sendTestEvent, subscribeProducts } from './okki/subscribe.js';
import { OKKI_PUSH_PATH } from './http/routes/okki-webhook.js';

const USAGE = `usage: npm run okki:subscribe -- --callback-url URL [--test] [--regenerate-secret]
  --callback-url URL    where OKKI delivers product events: this service's public https URL + ${OKKI_PUSH_PATH}
  --test                ask OKKI to send its test event to the callback (the service must run with OKKI_WEBHOOK_SECRET set)
  --regenerate-secret   have OKKI issue a new security_config for an existing callback (printed once)
needs OKKI_CLIENT_ID and OKKI_CLIENT_SECRET (and OKKI_BASE_URL when not the default) in the environment or .env`;

const say = (line: string) => process.stderr.write(`${line}\n`);

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv, allowPositionals: false,
      options: { 'callback-url': { type: 'string' }, test: { type: 'boolean', default: false }, 'regenerate-secret': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    }).values;
  } catch (err) {
    say(`${errorMessage(err)}\n${USAGE}`);
    return 2;
  }
  if (args.help) { process.stdout.write(`${USAGE}\n`); return 0; }
  const callbackUrl = args['callback-url']?.trim();
  let url: URL | undefined;
  try { url = callbackUrl ? new URL(callbackUrl) : undefined; } catch { url = undefined; }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) { say(`--callback-url: expected an absolute http(s) URL\n${USAGE}`); return 2; }
  if (url.protocol !== 'https:') say('note: OKKI delivers to a public address; use https in production');
  if (!url.pathname.endsWith(OKKI_PUSH_PATH)) say(`note: the connector receives OKKI events at ${OKKI_PUSH_PATH}; the URL given ends in ${url.pathname}`);

  dotenv.config({ quiet: true });
  // Only the OKKI variables matter here: reading the config as a sandbox one skips the checks of the Yida/DingTalk
  // variables this command never uses (the OKKI ones are still validated).
  let okki;
  try { okki = loadConfig({ ...process.env, SANDBOX: '1' }).okki; } catch (err) { say(errorMessage(err)); return 2; }
  if (!okki.clientId || !okki.clientSecret) { say(`OKKI_CLIENT_ID and OKKI_CLIENT_SECRET must be set\n${USAGE}`); return 2; }
  setGlobalSecrets([okki.clientSecret]);
  const logger = createLogger({ stream: process.stderr, level: process.env.LOG_LEVEL ?? 'warn' });
  installCrashHandlers({ logger, name: 'npm run okki:subscribe' });
  const client = new OkkiClient({ ...okki, logger });

  const reg = await registerCallback(client, url.href, { regenerate: args['regenerate-secret'] });
  say({ created: `callback created: ${url.href}`, updated: `callback moved to ${url.href} (its secret is unchanged)`, unchanged: `callback already set to ${url.href}` }[reg.action]);
  if (reg.securityConfig) {
    addSecret(reg.securityConfig); // from here on, no log line can carry it
    say('OKKI issued this security_config. Set it as OKKI_WEBHOOK_SECRET where the service runs, then restart it. It is shown only now:');
    process.stdout.write(`OKKI_WEBHOOK_SECRET=${reg.securityConfig}\n`);
  } else if (reg.action === 'created') {
    say('OKKI did not return a security_config; run again with --regenerate-secret to get one');
  } else {
    say('the service keeps its OKKI_WEBHOOK_SECRET (use --regenerate-secret for a new one)');
  }
  const types = await subscribeProducts(client);
  say(`subscribed to ${types.join(', ')}`);

  if (args.test) {
    if (reg.securityConfig) say('note: the test event is signed with the new secret: it passes only once the service runs with it');
    const r = await sendTestEvent(client);
    if (!r.ok) { say(`test event failed: ${r.message}`); return 1; }
    say('test event delivered and answered correctly');
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => { process.stderr.write(`okki:subscribe failed: ${redact(errorMessage(err))}\n`); process.exit(1); },
);
