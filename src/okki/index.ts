export { createOkkiSource, type OkkiSource, type OkkiSourceConfig, type OkkiSourceDeps, type InfoResult } from './source.js';
export { OkkiClient, DEFAULT_TIMEOUT_MS, type OkkiClientOptions } from './client.js';
export { DEFAULT_RETRY_POLICY, resolveRetryPolicy, backoffMs, parseRetryAfter, type RetryPolicy } from './retry.js';
export { DEFAULT_TOKEN_TTL_SECONDS } from './token.js';
export { buildGroupTree, type GroupWarning } from './groups.js';
export { checkItem, type ItemCheck } from './items.js';
export { formatWallClock, parseWallClock } from './time.js';
export {
  OkkiAuthError, OkkiHttpError, OkkiApiError, OkkiTimeoutError, OkkiNetworkError, OkkiNotFoundError,
  OkkiWindowUnstableError, OkkiConfigError, type OkkiAuthReason,
} from './errors.js';
