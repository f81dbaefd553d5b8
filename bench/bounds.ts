/**
 * The rate-limit bound a run is measured against. Writes: the DingTalk per-API limit L. Reads: OKKI_QPS requests
 * per second; a page of `pageSize` products costs one list call, plus one /v1/product/info call per product when the
 * mapping references a field list items lack (the shipped mapping's product_type does). So the OKKI bound in
 * products per second is OKKI_QPS × pageSize without details, OKKI_QPS / (1/pageSize + 1) with them.
 */
export interface Bound { okkiBound: number; writeBound: number; bound: number; limitedBy: 'write (DingTalk L)' | 'read (OKKI_QPS)' }

export function okkiBound(okkiQps: number, pageSize: number, detailCalls: boolean): number {
  return detailCalls ? okkiQps / (1 / pageSize + 1) : okkiQps * pageSize;
}

export function boundFor(o: { limit: number; okkiQps: number; pageSize: number; detailCalls: boolean }): Bound {
  const ob = okkiBound(o.okkiQps, o.pageSize, o.detailCalls);
  return { okkiBound: ob, writeBound: o.limit, bound: Math.min(o.limit, ob), limitedBy: o.limit <= ob ? 'write (DingTalk L)' : 'read (OKKI_QPS)' };
}
