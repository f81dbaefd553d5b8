/**
 * The webhook's JSON body: `{mode?, product_nos?, wait?, confirmDeletes?, repair?}` and nothing else. Unknown keys are
 * refused rather than ignored so a typo in a Yida connector action (`productNos`, `mdoe`) fails loudly instead of
 * running the wrong sync; so are combinations that would do something other than asked (`repair` without an audit,
 * `confirmDeletes` outside a sweep or a repairing audit, product numbers with a sweep or an audit).
 */
import { z } from 'zod';
import { productNoList } from '../core/index.js';
import { InvalidBodyError } from './errors.js';

export const PRODUCT_NOS_MAX = 500;
export const PRODUCT_NO_MAX_LENGTH = 64;

const webhookBodySchema = z.strictObject({
  mode: z.enum(['incremental', 'full', 'sweep', 'audit']).optional(),
  // An empty list is what a Yida flow sends for an empty "product numbers" field: a normal, untargeted sync.
  product_nos: z.array(z.string().trim().min(1).max(PRODUCT_NO_MAX_LENGTH))
    .max(PRODUCT_NOS_MAX)
    .transform(productNoList)
    .optional(),
  wait: z.boolean().optional(),
  /** a sweep (or a repairing audit) acts on more gone products than SYNC_DELETE_MAX */
  confirmDeletes: z.boolean().optional(),
  /** an audit repairs what it finds */
  repair: z.boolean().optional(),
}).superRefine((b, ctx) => {
  const whole = b.mode === 'sweep' || b.mode === 'audit';
  if (whole && b.product_nos?.length) ctx.addIssue({ code: 'custom', path: ['product_nos'], message: `a ${b.mode} reads the whole catalogue: leave product_nos out` });
  if (b.repair === true && b.mode !== 'audit') ctx.addIssue({ code: 'custom', path: ['repair'], message: 'repair goes with mode "audit"' });
  if (b.confirmDeletes === true && b.mode !== 'sweep' && !(b.mode === 'audit' && b.repair === true)) {
    ctx.addIssue({ code: 'custom', path: ['confirmDeletes'], message: 'confirmDeletes goes with mode "sweep" (or "audit" with repair: true)' });
  }
});

export type WebhookBody = z.output<typeof webhookBodySchema>;

/** `product_nos[3]`-style path, the way a person would point at the field. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : `${out ? '.' : ''}${String(seg)}`;
  return out;
}

export function parseWebhookBody(value: unknown): WebhookBody {
  const r = webhookBodySchema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const field = fieldPath([...issue.path, issue.keys[0]!]);
    return fail(`unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}: the body accepts only mode, product_nos, wait, confirmDeletes and repair`, field);
  }
  if (issue.path.length === 0) return fail('the body must be a JSON object', undefined);
  const field = fieldPath(issue.path);
  return fail(`${field}: ${describe(issue)}`, field);
}

function describe(issue: z.core.$ZodIssue): string {
  const [head] = issue.path;
  if (head === 'product_nos' && issue.path.length === 1 && issue.code === 'too_big') return `at most ${PRODUCT_NOS_MAX} product numbers per call`;
  if (head === 'product_nos' && issue.path.length === 2) {
    if (issue.code === 'too_small') return 'a product number must not be empty';
    if (issue.code === 'too_big') return `a product number has at most ${PRODUCT_NO_MAX_LENGTH} characters`;
  }
  return issue.message;
}

function fail(message: string, field: string | undefined): never {
  throw new InvalidBodyError(message, field);
}
