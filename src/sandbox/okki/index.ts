export { startOkkiSimulator } from './server.js';
export type { OkkiSimulator, OkkiSimulatorOptions, SimRequest, PushOptions, ProductEdit, SimCatalogApi, SimPushApi } from './types.js';
export { defaultKnobs, defaultPushKnobs, type OkkiKnobs, type KnobsPatch, type OkkiEndpoint, type PushKnobs, type ListScope } from './knobs.js';
export { PRODUCT_BIZ_TYPES, PRODUCT_SUBSCRIBE_TYPE, TEST_BIZ_TYPE, type Delivery, type DeliveryAttempt, type DeliveryState, type BizEntry, type PushConfig } from './push.js';
export type { ChangeKind, DeleteMode } from './store.js';
export { generateCatalog, formatBeijing, parseBeijing, type OkkiGroup, type RawOkkiProduct, type GeneratedCatalog, type CatalogOptions } from '../catalog.js';
