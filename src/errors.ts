/**
 * The one error shape of the connector (modelled on koa's http errors and fastify's codes):
 * a stable `code` that tests and logs match on, an HTTP `status` for the HTTP layer, and `expose`
 * saying whether the message may be shown to a caller. Messages never carry secret values.
 */
export class ConnectorError extends Error {
  readonly code: string;
  readonly status: number;
  readonly expose: boolean;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, opts: { status?: number; expose?: boolean; cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = opts.status ?? 500;
    this.expose = opts.expose ?? this.status < 500;
    this.details = opts.details;
  }
}

/** Start-up configuration problem: names the variable, never its value. */
export class ConfigError extends ConnectorError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super('CONFIG_INVALID', `Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

export function errorCode(err: unknown): string {
  if (err instanceof ConnectorError) return err.code;
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') return (err as { code: string }).code;
  return 'INTERNAL_ERROR';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
