/** The code-level catalogue and push handles of the OKKI simulator (the /__sim routes call these too). */
import type { RawOkkiProduct } from '../catalog.js';
import type { OkkiKnobs } from './knobs.js';
import { PRODUCT_BIZ_TYPES, PRODUCT_SUBSCRIBE_TYPE, type PushEmitter } from './push.js';
import type { SimCatalog } from './store.js';
import type { ProductEdit, PushOptions, SimCatalogApi, SimPushApi } from './types.js';

const toSeconds = (at?: Date) => (at ? Math.floor(at.getTime() / 1000) : undefined);

export function catalogApi(store: SimCatalog, knobs: () => OkkiKnobs): SimCatalogApi {
  return {
    upsert: (products) => store.upsert(products),
    touch: (productNos, at) => store.touch(productNos, toSeconds(at)),
    remove: (productNos) => store.remove(productNos),
    delete: (productNos, mode) => store.delete(productNos, mode ?? knobs().deleteMode),
    restore: (productNos) => store.restore(productNos),
    discontinue: (productNos, discontinued = true) => store.setDiscontinued(productNos, discontinued),
    edit(productNo: string, e: ProductEdit): RawOkkiProduct | undefined {
      const row = store.rowByNo(productNo);
      if (row === undefined) return undefined;
      const current = store.materialise(row);
      const patch: Record<string, unknown> = { ...(e.fields ?? {}), product_no: productNo };
      delete patch.update_time;
      if (e.name !== undefined) patch.name = String(e.name);
      if (e.price !== undefined) {
        const price = Number(e.price);
        if (!Number.isFinite(price) || price < 0) throw new TypeError('price must be a number ≥ 0');
        const fob = { ...((current.fob as Record<string, unknown>) ?? {}) };
        fob.price_min = price.toFixed(2);
        if (!(Number(fob.price_max) >= price)) fob.price_max = price.toFixed(2);
        patch.fob = fob;
      }
      if (e.cost !== undefined) {
        const cost = Number(e.cost);
        if (!Number.isFinite(cost) || cost < 0) throw new TypeError('cost must be a number ≥ 0');
        patch.cost_with_tax = { ...((current.cost_with_tax as Record<string, unknown>) ?? {}), cost: cost.toFixed(2) };
      }
      return store.upsert([patch])[0];
    },
    get: (no) => {
      const r = store.anyRowByNo(no);
      return r === undefined || store.stateOf(r).removed ? undefined : store.materialise(r);
    },
    state: (no) => {
      const r = store.anyRowByNo(no);
      if (r === undefined) return undefined;
      const s = store.stateOf(r);
      return { deleted: s.deleted, listed: !s.removed, discontinued: s.discontinued };
    },
    all: () => store.all(),
    get size() { return store.size; },
    get groups() { return store.groups; },
    setGroups: (g) => { store.groups = g.map((x) => ({ ...x })); },
  };
}

export function pushApi(push: PushEmitter, store: SimCatalog): SimPushApi {
  return {
    configure(opts: PushOptions) {
      const cfg = push.configure(opts.callbackUrl, opts.securityConfig);
      if (opts.subscribe !== false) push.subscribe(PRODUCT_SUBSCRIBE_TYPE, PRODUCT_BIZ_TYPES);
      return { ...cfg };
    },
    disable: () => push.remove(),
    get config() { return push.config ? { ...push.config } : null; },
    get subscriptions() { return Object.fromEntries([...push.subscriptions].map(([k, v]) => [k, v.slice()])); },
    get deliveries() { return push.deliveries; },
    clearDeliveries: () => push.clearDeliveries(),
    settled: (timeoutMs) => push.settled(timeoutMs),
    sendTest: () => push.sendTest(),
    emit(kind, productNos) {
      let n = 0;
      for (const no of productNos) {
        const r = store.anyRowByNo(no);
        const product = r === undefined ? { product_id: 0, product_no: no } : { product_id: store.idOf(r), product_no: no };
        if (push.productChanged(kind, product, true)) n++;
      }
      return n;
    },
  };
}
