/**
 * Reads a JSON request body defensively: media type first, then a byte limit (checked on Content-Length before a
 * byte is read, and again while streaming) and a total read deadline, so a slow or oversized sender cannot hold a
 * connection or memory for long.
 */
import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';
import { BadJsonError, BodyTimeoutError, BodyTooLargeError, UnsupportedMediaTypeError } from './errors.js';

export interface JsonBodyOptions {
  limitBytes: number;
  /** the whole body must arrive within this many ms */
  timeoutMs: number;
}

export const DEFAULT_JSON_BODY: JsonBodyOptions = { limitBytes: 64 * 1024, timeoutMs: 10_000 };

function declaredLength(req: IncomingMessage): number | undefined {
  const v = req.headers['content-length'];
  return v === undefined ? undefined : Number(v);
}

/** No Transfer-Encoding and no (or a zero) Content-Length: HTTP says there is no body. */
function hasNoBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] === undefined && (declaredLength(req) ?? 0) === 0;
}

/** application/json with an optional utf-8 charset (JSON has no other encoding, RFC 8259). */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const [type, ...params] = contentType.split(';').map((s) => s.trim().toLowerCase());
  if (type !== 'application/json') return false;
  return params.every((p) => !p.startsWith('charset=') || /^charset="?utf-8"?$/.test(p));
}

/**
 * The parsed body; `{}` for a request without a body. A request that carries a body (or claims a Content-Type)
 * must say application/json.
 */
export async function readJsonBody(req: IncomingMessage, opts: JsonBodyOptions): Promise<unknown> {
  const contentType = req.headers['content-type'];
  if (hasNoBody(req)) {
    if (contentType !== undefined && !isJsonMediaType(contentType)) throw new UnsupportedMediaTypeError();
    return {};
  }
  if (!isJsonMediaType(contentType)) throw new UnsupportedMediaTypeError();
  const encoding = req.headers['content-encoding'];
  // Compressed bodies would defeat the byte limit (a zip bomb) and are never what the Yida connector sends.
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') throw new UnsupportedMediaTypeError('Content-Encoding is not supported: send the JSON body uncompressed');
  const length = declaredLength(req);
  if (length !== undefined && length > opts.limitBytes) throw new BodyTooLargeError(opts.limitBytes);

  const text = await readWithDeadline(req, opts);
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BadJsonError(err);
  }
}

async function readWithDeadline(req: IncomingMessage, opts: JsonBodyOptions): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const read = getRawBody(req, { limit: opts.limitBytes, length: req.headers['content-length'], encoding: 'utf-8' });
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BodyTimeoutError(opts.timeoutMs)), opts.timeoutMs);
  });
  // The losing side of the race still settles later (e.g. when the socket closes); keep it from surfacing as unhandled.
  read.catch(() => undefined);
  try {
    return await Promise.race([read, deadline]);
  } catch (err) {
    if (err instanceof BodyTimeoutError) {
      // Stop buffering what the slow sender still trickles in.
      req.unpipe();
      req.pause();
      throw err;
    }
    const e = err as { type?: string; status?: number };
    if (e.type === 'entity.too.large' || e.status === 413) throw new BodyTooLargeError(opts.limitBytes);
    if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') throw new UnsupportedMediaTypeError();
    if (e.status === 400) throw new BadJsonError(err); // request size did not match, or the client aborted
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
