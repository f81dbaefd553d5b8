/** The HTTP surface: the Koa app and the listener that serves it. */
export { createApp, DEFAULT_HTTP_OPTIONS, type AppDeps, type HttpOptions } from './app.js';
export { startHttpServer, type HttpServerHandle, type ListenOptions } from './server.js';
export { WEBHOOK_PATH, REQUESTED_BY_HEADER } from './routes/webhook.js';
export type { ErrorBody } from './errors.js';
