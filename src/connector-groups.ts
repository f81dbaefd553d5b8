/**
 * The groups' part of the composition root (connector.ts): the group phase every window run goes through, with the
 * groups mirror in it when YIDA_GROUP_FORM_UUID is set (README "Groups mirror"). Its own sink (the group form: a
 * plain form, written in batches like the form target's), its own ledger key space and the same writer as products;
 * its calls are metered like theirs.
 */
import type { Config } from './config.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { ProductSource } from './core/index.js';
import type { CallMeter } from './core/metering.js';
import { MappingError, type LoadedMapping } from './mapping/index.js';
import type { Stores } from './store/types.js';
import { createFormSink } from './yida/form-sink.js';
import { LedgerWriter } from './sync/writer.js';
import { GroupMirror } from './sync/groups/mirror.js';
import { GroupPhase } from './sync/groups/phase.js';

export interface GroupWiringDeps {
  mapping: LoadedMapping;
  stores: Stores;
  /** the OKKI source the engine reads (products of renamed groups are read again through it) */
  source: ProductSource;
  meter?: CallMeter;
  metrics?: Metrics;
  logger: Logger;
}

/** Throws MappingError (MAPPING_INVALID) when a group form is configured and the mapping has no `groups` block. */
export function checkGroupMapping(config: Config, mapping: LoadedMapping): void {
  if (config.groups && !mapping.groups) {
    throw new MappingError(mapping.source, ['YIDA_GROUP_FORM_UUID is set, but the mapping has no "groups" block saying what goes into the group form (README "Groups mirror")']);
  }
}

export function buildGroupPhase(config: Config, deps: GroupWiringDeps): GroupPhase {
  const { mapping, stores, source, logger } = deps;
  checkGroupMapping(config, mapping);
  let mirror: GroupMirror | undefined;
  const groupMapping = mapping.groups;
  if (config.groups && groupMapping) {
    // The group form is a plain form: written in batches like the products' form target (yida/form-sink.ts).
    const sink = createFormSink(
      { dingtalk: config.dingtalk, yida: { ...config.yida, formUuid: config.groups.formUuid } }, groupMapping.keyField,
      { logger, metrics: deps.metrics, meter: deps.meter },
    );
    const writer = new LedgerWriter({
      ledger: stores.groupLedger, sink, keyField: groupMapping.keyField, logger, searchLagMs: config.yida.searchLagSeconds * 1000,
    });
    mirror = new GroupMirror({
      mapping: groupMapping, writer, ledger: stores.groupLedger, sink, state: stores.groupState, source,
      policy: config.mirror, logger,
    });
  }
  return new GroupPhase({
    source, state: stores.groupState, mirror, logger,
    productsReadGroups: mapping.referencedProductFields().has('group_id'),
  });
}
