export { startOkkiSimulator, type OkkiSimulator, type OkkiSimulatorOptions, type SimRequest } from './server.js';
export { defaultKnobs, type OkkiKnobs, type KnobsPatch, type OkkiEndpoint } from './knobs.js';
export { generateCatalog, formatBeijing, parseBeijing, type OkkiGroup, type RawOkkiProduct, type GeneratedCatalog, type CatalogOptions } from '../catalog.js';
