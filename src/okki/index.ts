export { createOkkiSource, type OkkiSource, type OkkiSourceConfig, type OkkiSourceDeps, type InfoResult } from './source.js';
export { OkkiClient, DEFAULT_TIMEOUT_MS, DEFAULT_TOKEN_TTL_SECONDS, type OkkiClientOptions } from './client.js';
export { buildGroupTree, type GroupWarning } from './groups.js';
export { checkItem, type ItemCheck } from './items.js';
export { formatWallClock, parseWallClock } from './time.js';
export {
  OkkiAuthError, OkkiHttpError, OkkiApiError, OkkiTimeoutError, OkkiNetworkError, OkkiNotFoundError,
  OkkiWindowUnstableError, type OkkiAuthReason,
} from './errors.js';
