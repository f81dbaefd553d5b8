/**
 * The console's view of a plain form (YIDA_TARGET=form): its definition as for any form, and what it holds for one
 * key through the form-data search (a plain form has no process instances for `getInstances` to find).
 */
import type { Config } from '../config.js';
import { FormApi } from './form-api.js';
import { FormLookup } from './form-lookup.js';
import { YidaGate } from './gate.js';
import { createYidaReader, type YidaReader, type YidaReaderDeps } from './reader.js';

export function createFormReader(cfg: { dingtalk: Config['dingtalk']; yida: Config['yida'] }, deps: YidaReaderDeps = {}): YidaReader {
  const gate = new YidaGate(cfg, deps);
  // one token cache for both halves
  const definitions = createYidaReader(cfg, { ...deps, tokens: gate.tokens });
  const lookup = new FormLookup(new FormApi(gate, cfg.yida), deps.logger);
  return {
    formDefinition: (opts) => definitions.formDefinition(opts),
    async instancesByKey(keyField, value, opts = {}) {
      const records = await lookup.recordsEq(keyField, value, opts.signal);
      return records.map((r) => ({
        instanceId: r.id, data: r.data, ...(r.createdAt ? { createdAt: r.createdAt } : {}), ...(r.modifiedAt ? { modifiedAt: r.modifiedAt } : {}),
      }));
    },
  };
}
