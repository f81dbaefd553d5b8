/**
 * Structured JSON logs (pino). Every line passes through the secret redactor on its way out,
 * so no code path can print a secret by accident, whatever object it logs. Lines written while a
 * run is in progress carry its run id (taken from async context, so modules need not thread it).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type Logger, type DestinationStream } from 'pino';
import { redact } from './redact.js';

export type { Logger };

/** The run a piece of async work belongs to. */
export const runContext = new AsyncLocalStorage<{ runId: string }>();

function redactingStream(out: NodeJS.WritableStream): DestinationStream {
  return { write(line: string) { out.write(redact(line)); } };
}

export interface LogOptions { level?: string; stream?: NodeJS.WritableStream; base?: Record<string, unknown> }

export function createLogger(opts: LogOptions = {}): Logger {
  return pino(
    {
      level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
      base: opts.base ?? { service: 'okki-yida-connector' },
      mixin: () => { const ctx = runContext.getStore(); return ctx ? { runId: ctx.runId } : {}; },
    },
    redactingStream(opts.stream ?? process.stdout),
  );
}

/** A logger that drops everything: the default for library code used without one. */
export const silentLogger: Logger = pino({ level: 'silent' });
