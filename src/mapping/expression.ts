/**
 * `_function EXPR`: a hand-written tokenizer and recursive-descent parser for MySQL-style function calls.
 * Nothing is ever evaluated as JavaScript; the grammar is
 *   expr  := call | string | number | NULL | placeholder
 *   call  := NAME "(" [expr ("," expr)*] ")"
 * Strings are '...' or "..." (a doubled quote or a backslash escapes it) and may hold `{path}` / `{{VAR}}`
 * placeholders; a bare placeholder passes its raw value (a date stays a date).
 */
import { lookupFunction, FUNCTION_SIGNATURES, type FunctionDef } from './functions.js';
import {
  collectFields, evaluatePlaceholder, evaluateTemplate, parsePlaceholder, parseTemplate, templateFields,
  type Placeholder, type Problem, type Template,
} from './template.js';
import type { EvalEnv } from './variables.js';

export type Expr =
  | { kind: 'literal'; value: string | number | null }
  | { kind: 'text'; template: Template }
  | { kind: 'placeholder'; placeholder: Placeholder }
  | { kind: 'call'; fn: FunctionDef; args: Expr[] };

type Token =
  | { type: 'ident'; pos: number; name: string }
  | { type: 'number'; pos: number; value: number }
  | { type: 'string'; pos: number; expr: Expr | undefined }
  | { type: 'placeholder'; pos: number; placeholder: Placeholder | undefined }
  | { type: '(' | ')' | ',' | 'end'; pos: number };

/** A syntax error: parsing cannot sensibly go on after it. */
class Stop extends Error {}

const MAX_DEPTH = 32;

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\', "'": "'", '"': '"' };

function describe(t: Token, source: string): string {
  return t.type === 'end' ? 'end of expression' : `"${source.slice(t.pos, t.pos + 12)}"`;
}

class Lexer {
  private i: number;
  constructor(private readonly source: string, start: number, private readonly problems: Problem[]) { this.i = start; }

  private fail(message: string, pos: number): never {
    this.problems.push({ message, pos });
    throw new Stop();
  }

  next(): Token {
    const s = this.source;
    while (this.i < s.length && /\s/.test(s[this.i])) this.i++;
    const pos = this.i;
    if (pos >= s.length) return { type: 'end', pos };
    const c = s[pos];
    if (c === '(' || c === ')' || c === ',') { this.i++; return { type: c, pos }; }
    if (c === "'" || c === '"') return this.string(c, pos);
    if (c === '{') return this.placeholder(pos);
    const num = /^[+-]?\d+(\.\d+)?/.exec(s.slice(pos));
    if (num) { this.i += num[0].length; return { type: 'number', pos, value: Number(num[0]) }; }
    const ident = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(pos));
    if (ident) { this.i += ident[0].length; return { type: 'ident', pos, name: ident[0] }; }
    return this.fail(`unexpected character "${c}"`, pos);
  }

  private string(quote: string, pos: number): Token {
    const s = this.source;
    let text = '';
    const offsets: number[] = [];
    let i = pos + 1;
    for (;;) {
      if (i >= s.length) this.fail(`unterminated string (opened with ${quote})`, pos);
      const c = s[i];
      if (c === quote) {
        if (s[i + 1] === quote) { text += quote; offsets.push(i); i += 2; continue; }
        break;
      }
      if (c === '\\' && i + 1 < s.length) {
        const mapped = ESCAPES[s[i + 1]];
        // unknown escapes keep their backslash so the template layer still sees `\{` as a literal brace
        if (mapped !== undefined) { text += mapped; offsets.push(i); } else { text += c + s[i + 1]; offsets.push(i, i + 1); }
        i += 2;
        continue;
      }
      text += c;
      offsets.push(i);
      i++;
    }
    this.i = i + 1;
    const before = this.problems.length;
    const template = parseTemplate(text, this.problems, (k) => offsets[k] ?? i);
    if (this.problems.length > before) return { type: 'string', pos, expr: undefined };
    const hasPlaceholder = template.parts.some((p) => p.kind !== 'text');
    const literal = template.parts.map((p) => (p.kind === 'text' ? p.text : '')).join('');
    return { type: 'string', pos, expr: hasPlaceholder ? { kind: 'text', template } : { kind: 'literal', value: literal } };
  }

  private placeholder(pos: number): Token {
    const s = this.source;
    const variable = s[pos + 1] === '{';
    const closeToken = variable ? '}}' : '}';
    const innerStart = pos + (variable ? 2 : 1);
    const close = s.indexOf(closeToken, innerStart);
    const nested = s.indexOf('{', innerStart);
    if (close < 0 || (nested >= 0 && nested < close)) this.fail(`unclosed "${variable ? '{{' : '{'}" (no matching "${closeToken}")`, pos);
    this.i = close + closeToken.length;
    return { type: 'placeholder', pos, placeholder: parsePlaceholder(s.slice(innerStart, close), variable, innerStart, this.problems, (k) => k) };
  }
}

class Parser {
  private token: Token;
  constructor(private readonly source: string, private readonly lexer: Lexer, private readonly problems: Problem[]) {
    this.token = lexer.next();
  }

  private advance(): Token { const t = this.token; this.token = this.lexer.next(); return t; }

  /** a method rather than the field, so TypeScript does not keep a narrowing across advance() */
  private peek(): Token { return this.token; }

  private fail(message: string, pos: number): never {
    this.problems.push({ message, pos });
    throw new Stop();
  }

  parseAll(): Expr | undefined {
    const e = this.expr(0);
    if (this.token.type !== 'end') this.fail(`unexpected ${describe(this.token, this.source)} after the expression`, this.token.pos);
    return e;
  }

  /** undefined = a problem was recorded but parsing could go on (unknown function, wrong arity, bad placeholder) */
  private expr(depth: number): Expr | undefined {
    const t = this.advance();
    if (depth > MAX_DEPTH) this.fail(`expression nested deeper than ${MAX_DEPTH} levels`, t.pos);
    switch (t.type) {
      case 'number': return { kind: 'literal', value: t.value };
      case 'string': return t.expr;
      case 'placeholder': return t.placeholder && { kind: 'placeholder', placeholder: t.placeholder };
      case 'ident': {
        if (t.name.toUpperCase() === 'NULL' && this.token.type !== '(') return { kind: 'literal', value: null };
        if (this.token.type !== '(') this.fail(`expected "(" after "${t.name}" (a function call) — quote text as '...'`, this.token.pos);
        this.advance();
        const args: Array<Expr | undefined> = [];
        if (this.peek().type === ')') this.advance();
        else {
          for (;;) {
            args.push(this.expr(depth + 1));
            const sep = this.advance();
            if (sep.type === ')') break;
            if (sep.type !== ',') this.fail(`expected "," or ")" but found ${describe(sep, this.source)}`, sep.pos);
          }
        }
        const fn = lookupFunction(t.name);
        if (!fn) {
          this.problems.push({ message: `unknown function "${t.name}" (known: ${FUNCTION_SIGNATURES.join(', ')})`, pos: t.pos });
          return undefined;
        }
        if (args.length < fn.minArgs || args.length > fn.maxArgs) {
          const want = fn.minArgs === fn.maxArgs ? `${fn.minArgs}` : fn.maxArgs >= 255 ? `at least ${fn.minArgs}` : `${fn.minArgs} to ${fn.maxArgs}`;
          this.problems.push({ message: `${fn.name} takes ${want} argument${want === '1' ? '' : 's'}, got ${args.length}: ${fn.signature}`, pos: t.pos });
          return undefined;
        }
        if (args.some((a) => a === undefined)) return undefined;
        return { kind: 'call', fn, args: args as Expr[] };
      }
      default:
        return this.fail(`expected a value but found ${describe(t, this.source)}`, t.pos);
    }
  }
}

/** Parses `source` from `start` (just after `_function`). Returns undefined when any problem was recorded. */
export function parseExpression(source: string, start: number, problems: Problem[]): Expr | undefined {
  const before = problems.length;
  try {
    const expr = new Parser(source, new Lexer(source, start, problems), problems).parseAll();
    return problems.length > before ? undefined : expr;
  } catch (e) {
    if (e instanceof Stop) return undefined;
    throw e;
  }
}

export function evaluateExpression(e: Expr, env: EvalEnv): unknown {
  switch (e.kind) {
    case 'literal': return e.value;
    case 'text': return evaluateTemplate(e.template, env);
    case 'placeholder': return evaluatePlaceholder(e.placeholder, env);
    case 'call': return e.fn.call(e.args.map((a) => evaluateExpression(a, env)), env);
  }
}

export function expressionFields(e: Expr, into: Set<string>): void {
  if (e.kind === 'text') templateFields(e.template, into);
  else if (e.kind === 'placeholder') collectFields(e.placeholder, into);
  else if (e.kind === 'call') for (const a of e.args) expressionFields(a, into);
}
