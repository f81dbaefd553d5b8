/** Product numbers are normalised by one function, whichever way they arrive. */
import { expect } from 'chai';
import { normalizeProductNo, productNoList } from '../src/core/index.js';
import { checkItem } from '../src/okki/index.js';
import { parseWebhookBody } from '../src/http/webhook-body.js';

describe('product numbers', () => {
  it('trims text, turns a finite number into text, and refuses blanks and other types', () => {
    expect(normalizeProductNo('  P-001 ')).to.equal('P-001');
    expect(normalizeProductNo(1001)).to.equal('1001');
    for (const v of ['', '   ', NaN, Infinity, null, undefined, {}, ['P-1'], true]) expect(normalizeProductNo(v), String(v)).to.equal(undefined);
  });

  it('lists them deduplicated in first-seen order', () => {
    expect(productNoList([' P-2', 'P-1', 'P-2 ', '', 7, '7'])).to.deep.equal(['P-2', 'P-1', '7']);
  });

  it('gives the same number from an OKKI list item and from the webhook body', () => {
    const item = checkItem({ product_id: 1, product_no: ' P-9 ' });
    expect(item.ok && item.item.product_no).to.equal('P-9');
    const numeric = checkItem({ product_id: 2, product_no: 42 });
    expect(numeric.ok && numeric.item.product_no).to.equal('42');
    expect(parseWebhookBody({ product_nos: [' P-9', 'P-9 ', 'P-8'] }).product_nos).to.deep.equal(['P-9', 'P-8']);
  });
});
