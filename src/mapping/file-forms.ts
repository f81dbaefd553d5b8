/**
 * The forms a mapping file may take (DESIGN "Mapping file forms"). Users paste the field list from an integration
 * platform's scheme, so besides the documented object the file may hold:
 *  - `{"request":[...], "keyField"?, ...}`: the documented form;
 *  - `[...]`: a bare JSON array of entries;
 *  - `"request":[...]` optionally followed by `,"otherRequest":[...]`: the text as copied from the platform, which is
 *    not JSON on its own (it is the inside of an object).
 * An `otherRequest` block (the platform's own credentials: app keys, secrets, tokens) is ignored with a warning: the
 * connector's credentials come from the environment. Its values are treated as secrets: they join the redactor's list
 * and no message quotes them.
 */
import { addSecret } from '../redact.js';

export interface MappingText {
  /** the document in the documented object form */
  document: unknown;
  /** what the operator should know (logged at start-up); never carries a value of `otherRequest` */
  warnings: string[];
}

/** A syntax problem, located; V8's own message is not used, as Node 22 quotes the text around the error in it. */
export class MappingSyntaxError extends Error {}

function locate(text: string, err: unknown): string {
  const message = (err as Error).message ?? '';
  const at = /position (\d+)/.exec(message);
  if (!at) return 'not valid JSON';
  const before = text.slice(0, Number(at[1]));
  return `not valid JSON at line ${before.split('\n').length}, column ${Number(at[1]) - before.lastIndexOf('\n')}`;
}

/** Keys of an entry that name it rather than hold its value: not secrets (redacting "appKey" everywhere helps no one). */
const NAMING_KEYS = new Set(['field', 'label', 'type', 'componentName', 'description', 'name', 'key']);

/** The values of an otherRequest block: every string except the entries' names and labels. */
function values(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) values(x, out);
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (!NAMING_KEYS.has(k)) values(x, out);
  return out;
}

function dropOtherRequest(doc: Record<string, unknown>, warnings: string[]): Record<string, unknown> {
  if (!('otherRequest' in doc)) return doc;
  const { otherRequest, ...rest } = doc;
  for (const s of values(otherRequest)) addSecret(s.trim());
  const n = Array.isArray(otherRequest) ? otherRequest.length : 1;
  warnings.push(`the "otherRequest" block (${n} ${n === 1 ? 'entry' : 'entries'}) is ignored: the connector's credentials come from the environment, never from the mapping file; its values are treated as secrets and not shown`);
  return rest;
}

export function parseMappingText(raw: string): MappingText {
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  const warnings: string[] = [];
  const trimmed = text.trim();
  let doc: unknown;
  if (trimmed.startsWith('"')) {
    // `"request":[...]` (and maybe `,"otherRequest":[...]`): the inside of an object. A trailing comma is tolerated.
    const inner = trimmed.replace(/,\s*$/, '');
    try { doc = JSON.parse(`{${inner}}`); } catch (e) {
      // Positions are shifted by the added `{`; the message says what form was assumed.
      throw new MappingSyntaxError(`${locate(`{${inner}`, e).replace(/column (\d+)$/, (_m, c) => `column ${Math.max(1, Number(c) - 1)}`)} (read as the text copied from an integration platform: "request":[...])`);
    }
  } else {
    try { doc = JSON.parse(text); } catch (e) { throw new MappingSyntaxError(locate(text, e)); }
  }
  if (Array.isArray(doc)) return { document: { request: doc }, warnings };
  if (doc && typeof doc === 'object') return { document: dropOtherRequest(doc as Record<string, unknown>, warnings), warnings };
  return { document: doc, warnings };
}
