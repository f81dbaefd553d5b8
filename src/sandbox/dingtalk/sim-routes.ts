/**
 * The `/__sim` inspection, knob and drift API (test-only; the real DingTalk has nothing like it). Errors here are
 * `{error}` with 400/404, never DingTalk-shaped: nothing but tests and the benchmark call these routes.
 */
import { HttpAnswer } from './http.js';
import { KnobError, type DingtalkApi, type DingtalkKnobs } from './knobs.js';
import { validateFieldDefs } from './definitions.js';
import type { DingtalkSimulator, SeedRecord } from './types.js';

const bad = (error: string) => new HttpAnswer(400, { error });

function jsonObject(raw: string): Record<string, unknown> | HttpAnswer {
  let v: unknown;
  try { v = JSON.parse(raw || '{}'); } catch { return bad('body is not valid JSON'); }
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : bad('body must be a JSON object');
}

function postKnobs(sim: DingtalkSimulator, body: Record<string, unknown>): HttpAnswer {
  // `expireTokensNow` and `unblockRobots` are actions, not settings.
  const { expireTokensNow, unblockRobots, ...rest } = body;
  if (expireTokensNow) sim.expireTokens();
  if (unblockRobots) sim.unblockRobots();
  return new HttpAnswer(200, sim.setKnobs(rest as Partial<DingtalkKnobs>));
}

function drift(sim: DingtalkSimulator, action: string, body: Record<string, unknown>): HttpAnswer {
  const id = body.id;
  if (typeof id !== 'string' || !id) return bad('drift: "id" (a process or form instance id) is required');
  switch (action) {
    case 'delete': return sim.plantDelete(id) ? new HttpAnswer(200, { ok: true }) : new HttpAnswer(404, { error: `no instance ${id}` });
    case 'duplicate': {
      const createTime = body.createTime as number | string | undefined;
      return new HttpAnswer(200, { id: sim.plantDuplicate(id, createTime === undefined ? {} : { createTime }) });
    }
    case 'edit': {
      const patch = body.data;
      if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return bad('drift edit: "data" (the fields to change) is required');
      return sim.plantEdit(id, patch as Record<string, unknown>) ? new HttpAnswer(200, { ok: true }) : new HttpAnswer(404, { error: `no instance ${id}` });
    }
    default: return new HttpAnswer(404, { error: `no drift action ${action}; expected delete, duplicate or edit` });
  }
}

export function handleSim(sim: DingtalkSimulator, method: string, path: string, url: URL, raw: string): HttpAnswer {
  const q = url.searchParams;
  const formUuid = q.get('formUuid') ?? undefined;
  try {
    if (method === 'GET') {
      switch (path) {
        case '/__sim/instances': { const list = sim.instances({ formUuid }); return new HttpAnswer(200, { count: list.length, instances: list }); }
        case '/__sim/forms/instances': { const list = sim.formInstances({ formUuid }); return new HttpAnswer(200, { count: list.length, instances: list }); }
        case '/__sim/forms/definitions': return new HttpAnswer(200, { formUuid: formUuid ?? sim.yida.formUuid, fields: sim.formFields(formUuid ?? sim.yida.formUuid) });
        case '/__sim/robot/messages': return new HttpAnswer(200, { messages: sim.robotMessages({ all: q.get('all') === '1' }) });
        case '/__sim/requests': return new HttpAnswer(200, { requests: sim.requests({ api: (q.get('api') ?? undefined) as DingtalkApi | undefined }) });
        case '/__sim/calls': return new HttpAnswer(200, sim.calls());
        case '/__sim/knobs': return new HttpAnswer(200, sim.knobs());
      }
    }
    if (method === 'POST') {
      if (path === '/__sim/reset') { sim.reset(); return new HttpAnswer(200, { ok: true }); }
      const body = jsonObject(raw);
      if (body instanceof HttpAnswer) return body;
      if (path === '/__sim/knobs') return postKnobs(sim, body);
      if (path.startsWith('/__sim/drift/')) return drift(sim, path.slice('/__sim/drift/'.length), body);
      if (path === '/__sim/forms/instances') {
        if (typeof body.formUuid !== 'string' || !Array.isArray(body.records)) return bad('seed: {formUuid, records: [{data, createTime?}]} expected');
        return new HttpAnswer(200, { ids: sim.seedFormInstances(body.formUuid, body.records as SeedRecord[]) });
      }
      if (path === '/__sim/forms/definitions') {
        if (typeof body.formUuid !== 'string') return bad('definitions: {formUuid, fields: [...] | null} expected');
        sim.setFormFields(body.formUuid, body.fields === null || body.fields === undefined ? undefined : validateFieldDefs(body.fields));
        return new HttpAnswer(200, { formUuid: body.formUuid, fields: sim.formFields(body.formUuid) });
      }
    }
  } catch (e) {
    if (e instanceof KnobError || e instanceof Error) return bad(e.message);
    throw e;
  }
  return new HttpAnswer(404, { error: `no simulator route ${method} ${path}` });
}
