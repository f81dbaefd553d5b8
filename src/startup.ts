/**
 * Start-up shared by the service (main.ts) and the CLI (cli.ts): the environment (and `.env`) becomes a validated
 * Config with its secrets registered with the redactor; without credentials the built-in simulators stand in; then
 * the connector is built.
 */
import dotenv from 'dotenv';
import { loadConfig, secretValues, type Config } from './config.js';
import { setGlobalSecrets } from './redact.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { buildConnector, type Connector } from './connector.js';
import { startSandbox, type Sandbox } from './sandbox/index.js';

/** Read and validate the configuration. Throws ConfigError (CONFIG_INVALID) naming each bad variable. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  dotenv.config({ quiet: true });
  const config = loadConfig(env);
  setGlobalSecrets(secretValues(config));
  return config;
}

export interface Runtime {
  /** the configuration in force (in sandbox mode: pointed at the simulators) */
  config: Config;
  connector: Connector;
  sandbox?: Sandbox;
  /** stop the engine, close the stores and the simulators */
  close(): Promise<void>;
}

/** Simulators when the config says sandbox, then the connector (stores, mapping, source, writer, engine). */
export async function startRuntime(base: Config, opts: { logger: Logger; metrics?: Metrics; env?: NodeJS.ProcessEnv }): Promise<Runtime> {
  const env = opts.env ?? process.env;
  let config = base;
  let sandbox: Sandbox | undefined;
  if (config.sandbox) {
    sandbox = await startSandbox(config, { logger: opts.logger, storeUrlSet: Boolean(env.STORE_URL?.trim()), okkiQpsSet: Boolean(env.OKKI_QPS?.trim()) });
    config = sandbox.config;
    setGlobalSecrets(secretValues(config));
  }
  let connector: Connector;
  try {
    connector = await buildConnector(config, { logger: opts.logger, metrics: opts.metrics });
  } catch (err) {
    await sandbox?.close();
    throw err;
  }
  return {
    config, connector, sandbox,
    async close() {
      await connector.close();
      await sandbox?.close();
    },
  };
}
