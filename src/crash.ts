/**
 * The last line of defence: an unhandled rejection or an uncaught exception anywhere in the process is logged once,
 * through the redactor like every other line, and the process exits non-zero (a supervisor restarts it; the next
 * start-up records the interrupted run). Node's own report of such a crash prints the error and its stack as they
 * are, access tokens and secrets included, which is why this handler exists.
 */
import type { Logger } from './log.js';
import { redact } from './redact.js';

export interface CrashHandlerOptions {
  /** where the line goes (default: the logger; before one exists, stderr) */
  logger?: Logger;
  /** program name for the stderr fallback */
  name?: string;
  /** how to end the process (tests); default process.exit */
  exit?: (code: number) => void;
}

function describe(reason: unknown): { message: string; stack?: string; code?: string } {
  if (reason instanceof Error) {
    const code = (reason as { code?: unknown }).code;
    return { message: redact(reason.message), stack: reason.stack && redact(reason.stack), code: typeof code === 'string' ? code : undefined };
  }
  let text: string;
  try { text = typeof reason === 'string' ? reason : JSON.stringify(reason) ?? String(reason); } catch { text = String(reason); }
  return { message: redact(text) };
}

let installed: { logger?: Logger; name: string; exit: (code: number) => void } | undefined;

/** Install once per process; a later call only replaces where the line goes (the logger exists after the config). */
export function installCrashHandlers(opts: CrashHandlerOptions = {}): void {
  const first = installed === undefined;
  installed = { logger: opts.logger ?? installed?.logger, name: opts.name ?? installed?.name ?? 'okki-yida-connector', exit: opts.exit ?? installed?.exit ?? ((c) => process.exit(c)) };
  if (!first) return;
  let crashing = false;
  const crash = (kind: 'unhandled rejection' | 'uncaught exception') => (reason: unknown) => {
    const target = installed!;
    if (crashing) return; // a failure while reporting the first one: the first one is what matters
    crashing = true;
    const err = describe(reason);
    try {
      if (target.logger) target.logger.fatal({ err }, `${kind}: the process exits`);
      else process.stderr.write(`${target.name}: ${kind}: ${err.stack ?? err.message}\n`);
    } catch {
      process.stderr.write(`${target.name}: ${kind}: ${err.message}\n`);
    }
    process.exitCode = 1;
    target.exit(1);
  };
  process.on('unhandledRejection', crash('unhandled rejection'));
  process.on('uncaughtException', crash('uncaught exception'));
}
