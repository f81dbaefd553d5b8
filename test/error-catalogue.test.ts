/**
 * The error catalogue (src/error-codes.ts) is the one list of stable codes: this test scans the source for code
 * literals and fails on any that is not in it, checks that every catalogued code is used, and keeps the README's
 * table equal to the catalogue (`npm run docs:errors` rewrites it).
 */
import { expect } from 'chai';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, errorCodesMarkdown, isErrorCode } from '../src/error-codes.js';
import { ConnectorError } from '../src/errors.js';

/** Upper-snake literals that are not error codes: the mapping's variable and filter names, and an errno name. */
const NOT_CODES = new Set(['CURRENT_TIME', 'LAST_SYNC_TIME', 'DATE_FORMAT', 'EAI_AGAIN']);
/** Environment variable names: every upper-snake literal of src/config.ts, where variables become Config. */
const CONFIG_FILE = join('src', 'config.ts');
/** The simulators speak the remote APIs' vocabulary, not ours. */
const SKIP_DIRS = [join('src', 'sandbox')];
const CATALOGUE_FILE = join('src', 'error-codes.ts');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return SKIP_DIRS.includes(p) ? [] : sourceFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** Quoted upper-snake words at the start of a string ('X', "X", `X: ...`), comments left out. */
function literals(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1');
  return [...text.matchAll(/['"`]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?=['"`:])/g)].map((m) => m[1]);
}

const README_START = '<!-- error-codes:start (generated from src/error-codes.ts by `npm run docs:errors`) -->';
const README_END = '<!-- error-codes:end -->';

describe('error catalogue', () => {
  const files = sourceFiles('src').filter((f) => f !== CATALOGUE_FILE);
  const envNames = new Set(literals(CONFIG_FILE));
  const used = new Map<string, string[]>();
  for (const f of files.filter((x) => x !== CONFIG_FILE)) {
    for (const code of literals(f)) if (!NOT_CODES.has(code) && !envNames.has(code)) used.set(code, [...(used.get(code) ?? []), f]);
  }

  it('holds every code the source throws, records or answers with', () => {
    const unknown = [...used].filter(([code]) => !isErrorCode(code)).map(([code, where]) => `${code} (${[...new Set(where)].join(', ')})`);
    expect(unknown, 'codes used in src/ but missing from src/error-codes.ts').to.deep.equal([]);
    expect(used.size).to.be.above(40); // the scan does see the codes
  });

  it('has no code that nothing uses, and a status, expose flag and one-line meaning for each', () => {
    const unused = Object.keys(ERROR_CODES).filter((code) => !used.has(code));
    expect(unused, 'catalogued codes no source file uses').to.deep.equal([]);
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      expect(code).to.match(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/);
      expect(info.status, code).to.be.within(400, 599);
      expect(info.expose, code).to.be.a('boolean');
      expect(info.meaning, code).to.match(/^[^\n]{10,200}$/);
    }
  });

  it('gives every ConnectorError its status and expose flag from the catalogue', () => {
    const e = new ConnectorError('OKKI_TIMEOUT', 'x');
    expect([e.status, e.expose]).to.deep.equal([504, true]);
    const hidden = new ConnectorError('YIDA_REJECTED', 'x');
    expect([hidden.status, hidden.expose]).to.deep.equal([502, false]);
  });

  it("keeps the README's error table equal to the catalogue, and its troubleshooting table consistent with it", () => {
    const readme = readFileSync('README.md', 'utf8');
    const start = readme.indexOf(README_START);
    const end = readme.indexOf(README_END);
    const table = `${README_START}\n${errorCodesMarkdown()}\n${README_END}`;
    if (process.env.UPDATE_DOCS === '1' && start >= 0 && end > start) {
      writeFileSync('README.md', readme.slice(0, start) + table + readme.slice(end + README_END.length));
      return;
    }
    expect(start, 'README has the error-codes markers').to.be.at.least(0);
    expect(readme.slice(start, end + README_END.length), 'README error table is stale: run npm run docs:errors').to.equal(table);
    // "| 401 | `WEBHOOK_UNAUTHORIZED` | ..." rows elsewhere name a status and codes: both must match the catalogue
    for (const m of readme.matchAll(/^\| (\d{3}) \| (`[A-Z_]+`(?: \/ `[A-Z_]+`)*) \|/gm)) {
      for (const code of m[2].match(/[A-Z_]+/g)!) {
        expect(isErrorCode(code), code).to.equal(true);
        expect(ERROR_CODES[code as keyof typeof ERROR_CODES].status, code).to.equal(Number(m[1]));
      }
    }
  });
});

describe('errors raised by koa or the router', () => {
  it('keep their status and answer a catalogued code, never one made up from the status', async () => {
    const { errorResponse } = await import('../src/http/middleware.js');
    const raised = (status: number, message: string) => Object.assign(new Error(message), { status, expose: true });
    for (const [status, code] of [[404, 'NOT_FOUND'], [405, 'METHOD_NOT_ALLOWED'], [400, 'REQUEST_REFUSED'], [413, 'REQUEST_REFUSED'], [414, 'REQUEST_REFUSED']] as const) {
      const r = errorResponse(raised(status, 'refused'));
      expect(r.status, String(status)).to.equal(status);
      expect(r.body.error.code, String(status)).to.equal(code);
      expect(isErrorCode(r.body.error.code)).to.equal(true);
    }
    // an unexposed or server-side error is an internal error, whatever it says
    expect(errorResponse(Object.assign(new Error('secret detail'), { status: 400, expose: false })).body.error).to.deep.equal({ code: 'INTERNAL_ERROR', message: 'internal error' });
  });
});
