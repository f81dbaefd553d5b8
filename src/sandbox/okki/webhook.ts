/**
 * OKKI's push configuration API (api-3497011 … api-3497061): the callback (/v1/webhook, its secret and test event)
 * and the per-module subscriptions (/v1/subscribe). Answers are shaped like the docs' examples.
 */
import type { IncomingMessage } from 'node:http';
import { HttpAnswer, parseBody, type Envelopes } from './http.js';
import type { PushEmitter } from './push.js';
import type { OkkiKnobs } from './knobs.js';

const MODULE = /^crm\.[a-z_]+$/;

export function isWebhookPath(path: string): boolean {
  return path === '/v1/webhook' || path.startsWith('/v1/webhook/') || path === '/v1/subscribe' || path.startsWith('/v1/subscribe/');
}

export function webhookRoutes(push: PushEmitter, env: Envelopes, knobs: () => OkkiKnobs) {
  const noConfig = () => env.apiError(404, 'Not Found Resource', 'not-found');

  function callbackUrl(b: Record<string, unknown>): string | HttpAnswer {
    const url = b.callback_url;
    if (typeof url !== 'string' || !/^https?:\/\/\S+$/.test(url)) return env.apiError(400, 'callback_url is required and must be an http(s) URL');
    return url;
  }

  function subscription(type: string, b: Record<string, unknown>): string[] | HttpAnswer {
    if (!MODULE.test(type)) return env.apiError(400, `subscribe_type ${JSON.stringify(type)} is not supported`);
    const configs = b.subscribe_configs;
    if (!Array.isArray(configs) || configs.length === 0) return env.apiError(400, 'subscribe_configs must be a non-empty array of {biz_type}');
    const module = type.slice('crm.'.length);
    const out: string[] = [];
    for (const c of configs) {
      const t = (c as { biz_type?: unknown })?.biz_type;
      if (typeof t !== 'string' || !new RegExp(`^xiaoman\\.crm\\.${module}\\.(create|update|delete)$`).test(t)) {
        return env.apiError(400, `biz_type ${JSON.stringify(t)} does not belong to ${type} (one module per call)`);
      }
      out.push(t);
    }
    return out;
  }

  async function handle(method: string, path: string, req: IncomingMessage): Promise<HttpAnswer> {
    const route = `${method} ${path}`;
    switch (route) {
      case 'POST /v1/webhook': {
        const url = callbackUrl(await parseBody(req));
        if (url instanceof HttpAnswer) return url;
        if (push.config && knobs().webhookCreateTwice === 'error') return env.apiError(400, 'callback config already exists: use PUT /v1/webhook');
        if (push.config) push.remove();
        const cfg = push.configure(url);
        return env.ok({ security_method: cfg.securityMethod, security_config: cfg.securityConfig });
      }
      case 'GET /v1/webhook':
        if (!push.config) return noConfig();
        return env.ok({ callback_url: push.config.callbackUrl, callback_verify: push.config.verified ? '1' : '0', security_method: push.config.securityMethod });
      case 'PUT /v1/webhook': {
        if (!push.config) return noConfig();
        const url = callbackUrl(await parseBody(req));
        if (url instanceof HttpAnswer) return url;
        const cfg = push.configure(url, push.config.securityConfig);
        return env.ok({ security_method: cfg.securityMethod, callback_url: cfg.callbackUrl });
      }
      case 'DELETE /v1/webhook':
        if (!push.config) return noConfig();
        push.remove();
        return env.ok();
      case 'POST /v1/webhook/regenerate-secret':
        if (!push.config) return noConfig();
        return env.ok({ webhook_secret: push.regenerateSecret() });
      case 'POST /v1/webhook/test': {
        if (!push.config) return noConfig();
        const d = await push.sendTest();
        if (d.state === 'delivered') return env.ok();
        const a = d.attempts.at(-1);
        return env.apiError(400, `回调测试失败: ${a?.error ?? 'no answer'}${a?.status ? ` (HTTP ${a.status})` : ''}`, 'callback-test-failed');
      }
      case 'GET /v1/subscribe':
        return env.ok([...push.subscriptions].map(([t, c]) => ({ subscribe_type: t, subscribe_config: c })));
      case 'POST /v1/subscribe': {
        const b = await parseBody(req);
        const type = typeof b.subscribe_type === 'string' ? b.subscribe_type : '';
        const types = subscription(type, b);
        if (types instanceof HttpAnswer) return types;
        push.subscribe(type, [...(push.subscriptions.get(type) ?? []), ...types]);
        return env.ok([]);
      }
    }
    const m = /^\/v1\/subscribe\/([^/]+)$/.exec(path);
    if (m) {
      const type = decodeURIComponent(m[1]);
      if (method === 'GET') {
        const c = push.subscriptions.get(type);
        return c ? env.ok({ subscribe_type: type, subscribe_config: c }) : noConfig();
      }
      if (method === 'PUT') {
        const types = subscription(type, await parseBody(req));
        if (types instanceof HttpAnswer) return types;
        push.subscribe(type, types);
        return env.ok([]);
      }
      if (method === 'DELETE') return push.unsubscribe(type) ? env.ok([]) : noConfig();
    }
    return new HttpAnswer(404, { code: 404, message: 'Not Found' }, {}, 'unknown-route', 404);
  }

  return { handle };
}
