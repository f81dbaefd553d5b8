/**
 * `npm run mapping:check [-- --json]`: the mapping file checked against the live Yida form's field definitions
 * (getFormComponentDefinitionList; one metered DingTalk call). Prints the same findings as the console's mapping page.
 * Exit 0: the mapping fits the form; 1: it does not, or the form could not be read, or bad usage.
 */
import { parseArgs } from 'node:util';
import dotenv from 'dotenv';
import { loadConfig, secretValues, type Config } from './config.js';
import { redact, setGlobalSecrets } from './redact.js';
import { errorCode, errorMessage } from './errors.js';
import { createLogger } from './log.js';
import { loadMapping } from './mapping/index.js';
import { checkMappingAgainstForm, formatFormCheck } from './mapping/form-check.js';
import { createYidaReader } from './yida/reader.js';
import { startSandbox, type Sandbox } from './sandbox/index.js';

const USAGE = `usage: npm run mapping:check [-- --json]
  --json   print the result as JSON (problems, warnings, rows, unmapped form fields)`;

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({ args: argv, allowPositionals: false, options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } }).values;
  } catch (err) {
    process.stderr.write(`${errorMessage(err)}\n${USAGE}\n`);
    return 1;
  }
  if (args.help) { process.stdout.write(`${USAGE}\n`); return 0; }
  dotenv.config({ quiet: true });
  let config: Config;
  try { config = loadConfig(process.env); } catch (err) { process.stderr.write(`${errorMessage(err)}\n`); return 1; }
  setGlobalSecrets(secretValues(config));
  const logger = createLogger({ stream: process.stderr, level: process.env.LOG_LEVEL ?? 'warn' });
  let mapping;
  try { mapping = loadMapping(config.mappingFile, { warn: (m) => process.stderr.write(`warning: ${m}\n`) }); } catch (err) { process.stderr.write(`${errorMessage(err)}\n`); return 1; }
  let sandbox: Sandbox | undefined;
  if (config.sandbox) {
    sandbox = await startSandbox(config, { logger, storeUrlSet: false });
    config = sandbox.config;
    setGlobalSecrets(secretValues(config));
    process.stderr.write(`SANDBOX MODE (${config.sandboxReason}): checking against the built-in simulator's form, not a real Yida form\n`);
  }
  try {
    const reader = createYidaReader({ dingtalk: config.dingtalk, yida: config.yida }, { logger });
    let form;
    try {
      form = await reader.formDefinition();
    } catch (err) {
      process.stderr.write(`could not read the Yida form definition (${errorCode(err)}): ${redact(errorMessage(err))}\n`);
      return 1;
    }
    const result = checkMappingAgainstForm(mapping.fields, form, mapping.keyField);
    process.stdout.write(args.json ? `${JSON.stringify(result, null, 2)}\n` : `${config.mappingFile} → ${config.yida.formUuid}\n${formatFormCheck(result)}\n`);
    return result.ok ? 0 : 1;
  } finally {
    await sandbox?.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => { process.stderr.write(`mapping check failed: ${redact(errorMessage(err))}\n`); process.exit(1); },
);
