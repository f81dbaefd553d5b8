/**
 * The ports at the centre: the vocabulary every part shares and the interfaces the engine (`sync/`) depends on.
 * Adapters (`okki/`, `yida/`, `robot/`, `store/`, `http/`, `mapping/`) implement or use these; nothing here imports
 * an adapter.
 */
export * from './product.js';
export * from './mapping.js';
export * from './run.js';
export * from './service.js';
export * from './sink.js';
export * from './sink-errors.js';
export * from './writer.js';
export * from './metering.js';
export * from './push-queue.js';
export * from './mirror.js';
export * from './product-no.js';
export * from './groups.js';
