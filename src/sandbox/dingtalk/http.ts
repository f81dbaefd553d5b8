/**
 * HTTP plumbing shared by the simulator's route families: the answer type, DingTalk-shaped errors, body reading and
 * the small parameter checks every Yida route repeats. Every answer is JSON: the SDK throws SyntaxError on anything else.
 */
import type http from 'node:http';
import { randomUUID } from 'node:crypto';

export const HOST = '127.0.0.1';
const MAX_BODY = 8 * 1024 * 1024;

export class HttpAnswer {
  /** `drop`: destroy the socket instead of answering (a lost answer: the client sees a reset) */
  constructor(readonly status: number, readonly body: unknown, readonly code?: string, readonly drop = false) {}
}

export function dtError(status: number, code: string, message: string): HttpAnswer {
  return new HttpAnswer(status, { code, message, requestid: randomUUID().replace(/-/g, '').toUpperCase() }, code);
}

export const unavailable = (): HttpAnswer => dtError(500, 'ServiceUnavailable', '服务暂不可用，请稍后重试');
export const ok = (body: unknown = {}): HttpAnswer => new HttpAnswer(200, body);

export function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => { size += c.length; if (size > MAX_BODY) { reject(new Error('body too large')); req.destroy(); } else chunks.push(c); });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** the JSON object body, `{}` when empty; an answer when it is not a JSON object */
export function parseBody(raw: string): Record<string, unknown> | HttpAnswer {
  if (raw.trim() === '') return {};
  try {
    const p = JSON.parse(raw);
    if (p && typeof p === 'object' && !Array.isArray(p)) return p as Record<string, unknown>;
    return dtError(400, 'InvalidParameter', '请求体必须是 JSON 对象');
  } catch {
    return dtError(400, 'InvalidParameter', '请求体不是合法的 JSON');
  }
}

export function requireString(body: Record<string, unknown>, field: string): string | HttpAnswer {
  const v = body[field];
  if (typeof v !== 'string' || v.trim() === '') return dtError(400, 'MissingParameter', `缺少参数 ${field}`);
  return v;
}

/** a `*Json` field holding a JSON object (form data): parsed, or the answer Yida gives */
export function parseFormJson(field: string, v: unknown): Record<string, unknown> | HttpAnswer {
  if (typeof v !== 'string' || v.trim() === '') return dtError(400, 'MissingParameter', `缺少参数 ${field}`);
  let parsed: unknown;
  try { parsed = JSON.parse(v); } catch { return dtError(400, 'InvalidParameter', `${field} 不是合法的 JSON`); }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return dtError(400, 'InvalidParameter', `${field} 必须是 JSON 对象`);
  return parsed as Record<string, unknown>;
}

/** pageNumber/pageSize (query string or body, numbers or numeric strings); pageSize 1..100 */
export function paging(pageNumber: unknown, pageSize: unknown, defaultSize = 10): { page: number; size: number } | HttpAnswer {
  const page = Number(pageNumber ?? 1);
  const size = Number(pageSize ?? defaultSize);
  if (!Number.isInteger(page) || page < 1) return dtError(400, 'InvalidParameter', 'pageNumber 必须是大于 0 的整数');
  if (!Number.isInteger(size) || size < 1 || size > 100) return dtError(400, 'InvalidParameter', 'pageSize 必须在 1 到 100 之间');
  return { page, size };
}

/** a list field of non-empty strings with at most `max` entries */
export function stringList(body: Record<string, unknown>, field: string, max: number): string[] | HttpAnswer {
  const v = body[field];
  if (!Array.isArray(v) || v.length === 0) return dtError(400, 'MissingParameter', `缺少参数 ${field}`);
  if (v.length > max) return dtError(400, 'InvalidParameter', `${field} 单次最多 ${max} 条，实际 ${v.length} 条`);
  if (!v.every((x) => typeof x === 'string' && x !== '')) return dtError(400, 'InvalidParameter', `${field} 的每一项必须是非空字符串`);
  return v as string[];
}
