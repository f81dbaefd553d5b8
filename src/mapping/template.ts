/**
 * Text templates: literal text with `{product.path}` and `{{VARIABLE}}` placeholders, each optionally
 * `|filter`ed. Parsing collects problems with their character offsets instead of stopping at the first one.
 */
import { lookupFilter, lookupVariable, FILTER_NAMES, VARIABLE_NAMES, type EvalEnv, type FilterDef, type VariableDef } from './variables.js';
import { isPlainObject, orNull, toText } from './values.js';

/** A problem found while parsing; `pos` is the 0-based offset in the entry's value text. */
export interface Problem { message: string; pos: number }

export type Placeholder =
  | { kind: 'path'; path: readonly string[]; filters: readonly FilterDef[] }
  | { kind: 'variable'; variable: VariableDef; filters: readonly FilterDef[] };

export type Part = { kind: 'text'; text: string } | Placeholder;

export interface Template { readonly parts: readonly Part[] }

/** Maps an index in the text being parsed to an offset in the entry's value (differs inside quoted strings). */
export type OffsetMap = (index: number) => number;

const SEGMENT = /^[\p{L}\p{N}_]+$/u;

export function parseTemplate(text: string, problems: Problem[], offsetOf: OffsetMap = (i) => i): Template {
  const parts: Part[] = [];
  let buf = '';
  const flush = () => { if (buf) parts.push({ kind: 'text', text: buf }); buf = ''; };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\' && (text[i + 1] === '{' || text[i + 1] === '}' || text[i + 1] === '\\')) {
      buf += text[i + 1];
      i += 2;
    } else if (c === '{') {
      const variable = text[i + 1] === '{';
      const open = variable ? '{{' : '{';
      const closeToken = variable ? '}}' : '}';
      const innerStart = i + open.length;
      const close = text.indexOf(closeToken, innerStart);
      const nested = text.indexOf('{', innerStart);
      if (close < 0 || (nested >= 0 && nested < close)) {
        problems.push({ message: `unclosed "${open}" (no matching "${closeToken}"; write \\{ for a literal brace)`, pos: offsetOf(i) });
        return { parts };
      }
      flush();
      const placeholder = parsePlaceholder(text.slice(innerStart, close), variable, innerStart, problems, offsetOf);
      if (placeholder) parts.push(placeholder);
      i = close + closeToken.length;
    } else if (c === '}') {
      problems.push({ message: 'unmatched "}" (write \\} for a literal brace)', pos: offsetOf(i) });
      i++;
    } else {
      buf += c;
      i++;
    }
  }
  flush();
  return { parts };
}

/** Parses what is between the braces: `name|filter|filter`, spaces around each piece allowed. */
export function parsePlaceholder(inner: string, variable: boolean, innerStart: number, problems: Problem[], offsetOf: OffsetMap): Placeholder | undefined {
  const pieces: Array<{ text: string; at: number }> = [];
  let start = 0;
  for (const piece of inner.split('|')) {
    const lead = piece.length - piece.trimStart().length;
    pieces.push({ text: piece.trim(), at: innerStart + start + lead });
    start += piece.length + 1;
  }
  const [head, ...filterPieces] = pieces;
  let ok = true;
  const filters: FilterDef[] = [];
  for (const f of filterPieces) {
    const def = lookupFilter(f.text);
    if (!def) {
      problems.push({ message: f.text ? `unknown filter "${f.text}" (known: ${FILTER_NAMES.join(', ')})` : 'empty filter after "|"', pos: offsetOf(f.at) });
      ok = false;
    } else filters.push(def);
  }
  if (!head.text) {
    problems.push({ message: `empty placeholder "${variable ? '{{}}' : '{}'}"`, pos: offsetOf(head.at) });
    return undefined;
  }
  if (variable) {
    const def = lookupVariable(head.text);
    if (!def) {
      problems.push({ message: `unknown variable "${head.text}" (known: ${VARIABLE_NAMES.join(', ')})`, pos: offsetOf(head.at) });
      return undefined;
    }
    return ok ? { kind: 'variable', variable: def, filters } : undefined;
  }
  const path = head.text.split('.');
  const bad = path.findIndex((s) => !SEGMENT.test(s));
  if (bad >= 0) {
    problems.push({
      message: `invalid product path "${head.text}" (dot-separated field names: letters, digits, _)`,
      pos: offsetOf(head.at + path.slice(0, bad).reduce((n, s) => n + s.length + 1, 0)),
    });
    return undefined;
  }
  return ok ? { kind: 'path', path, filters } : undefined;
}

const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/**
 * Reads a dot path. Only own properties count (`{constructor}` is not Object's constructor). A numeric
 * segment indexes a list; a name applied to a list of `{name, value}` pairs (OKKI's `info_json` custom
 * fields) picks the pair with that name: `{info_json.材质}`.
 */
export function readPath(root: unknown, path: readonly string[]): unknown {
  let cur: unknown = root;
  for (const seg of path) {
    if (Array.isArray(cur)) {
      if (/^\d+$/.test(seg)) { cur = cur[Number(seg)]; continue; }
      const pair = cur.find((x) => isPlainObject(x) && x.name === seg);
      cur = pair === undefined ? undefined : (pair as Record<string, unknown>).value;
    } else if (isPlainObject(cur) && own(cur, seg)) {
      cur = cur[seg];
    } else {
      return undefined;
    }
  }
  return cur;
}

export function evaluatePlaceholder(p: Placeholder, env: EvalEnv): unknown {
  let v = orNull(p.kind === 'path' ? readPath(env.product, p.path) : p.variable.read(env));
  for (const f of p.filters) v = orNull(f.apply(v, env));
  return v;
}

/**
 * A template that is one placeholder yields the raw value (a number stays a number, a list a list); literal
 * text alone yields itself; mixed text yields text, or null when every placeholder in it is empty — so
 * `"{name}（{model}）"` for a product with neither is empty rather than a lone "（）".
 */
export function evaluateTemplate(t: Template, env: EvalEnv): unknown {
  const { parts } = t;
  if (parts.length === 1 && parts[0].kind !== 'text') return evaluatePlaceholder(parts[0], env);
  const values = parts.map((p) => (p.kind === 'text' ? undefined : evaluatePlaceholder(p, env)));
  const placeholders = parts.filter((p) => p.kind !== 'text').length;
  if (placeholders > 0 && values.every((v) => v === null || v === undefined)) return null;
  return orNull(parts.map((p, i) => (p.kind === 'text' ? p.text : toText(values[i], env.ctx.timezone))).join(''));
}

/** Top-level product fields a template reads (for the source's detail fetch). */
export function collectFields(p: Placeholder, into: Set<string>): void {
  if (p.kind === 'path') into.add(p.path[0]);
  else for (const f of p.variable.productFields) into.add(f);
}

export function templateFields(t: Template, into: Set<string>): void {
  for (const p of t.parts) if (p.kind !== 'text') collectFields(p, into);
}
