export { createFormSink, FormSink, type FormSinkDeps } from './form-sink.js';
export { createYidaSink, exactSearchJson, componentOf, type YidaSink, type YidaSinkDeps, type FormData, type CallOptions } from './sink.js';
export { DingtalkTokenProvider, type TokenProvider } from './token.js';
export {
  YidaError, YidaAuthError, YidaThrottledError, YidaWriteAmbiguousError, YidaDuplicateFoundError, YidaRejectedError, YidaUnavailableError,
  type YidaErrorCode,
} from './errors.js';
export { classify, type FailureKind } from './classify.js';
export { AdaptivePacer } from './pacer.js';
export type { SdkTimeouts } from './sdk.js';
export { YIDA_RETRY_POLICY } from './classify.js';
export type { RetryPolicy } from '../outbound/index.js';
