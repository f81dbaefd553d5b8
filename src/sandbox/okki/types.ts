/** The OKKI simulator's public shape: options, the request log record, and the handle tests and the sandbox hold. */
import type { OkkiGroup, RawOkkiProduct } from '../catalog.js';
import type { KnobsPatch, OkkiEndpoint, OkkiKnobs } from './knobs.js';
import type { Delivery, PushConfig } from './push.js';
import type { ChangeKind, DeleteMode } from './store.js';

/** Push set-up at start: the callback to deliver to, its key (default: a fresh one), and the crm.product subscription. */
export interface PushOptions {
  callbackUrl: string;
  /** base64 of 32 bytes; a fresh one when absent (read it back from `sim.push.config`) */
  securityConfig?: string;
  /** subscribe to xiaoman.crm.product.create/update/delete (default true) */
  subscribe?: boolean;
}

export interface OkkiSimulatorOptions {
  port?: number;
  /** seeded catalogue: `{ seed, products }` (ignored when `products` is given as an array) */
  seed?: number;
  /** number of generated products, or the raw products to serve */
  products?: number | RawOkkiProduct[];
  groups?: number | OkkiGroup[];
  /** instant generated update times are spread back from (default now) */
  now?: Date;
  spanDays?: number;
  clientId?: string;
  clientSecret?: string;
  knobs?: KnobsPatch;
  /** request log size (oldest dropped first) */
  requestLogSize?: number;
  /** push events to this callback from the start (what `POST /v1/webhook` + `POST /v1/subscribe` would set up) */
  push?: PushOptions;
}

export interface SimRequest {
  seq: number;
  /** epoch ms when the request arrived */
  at: number;
  method: string;
  path: string;
  endpoint: OkkiEndpoint | 'sim' | 'unknown';
  query: Record<string, string>;
  /** HTTP status answered (0 when the socket was dropped) */
  status: number;
  /** envelope code or OAuth error, when there was one */
  code?: number | string;
  /** what the simulator did: ok, throttled, injected-5xx, injected-timeout, injected-429, business-error, auth-denied, bad-request, shifted */
  outcome: string;
  /** rows bumped by the shift knob before answering */
  shifted?: string[];
}

/** Fields `edit` changes; `price` sets fob.price_min (and price_max when lower), `cost` cost_with_tax.cost. */
export interface ProductEdit {
  name?: string;
  price?: string | number;
  cost?: string | number;
  /** any other top-level fields to replace */
  fields?: Record<string, unknown>;
}

export interface SimCatalogApi {
  /** insert or replace (create/update events); `enable_flag: 0` in a product makes it deleted-but-listed */
  upsert(products: readonly Record<string, unknown>[]): RawOkkiProduct[];
  /** bump update_time (update events) */
  touch(productNos: readonly string[], at?: Date): string[];
  /** delete the `remove` way: gone from listings (delete events) */
  remove(productNos: readonly string[]): string[];
  /** delete: gone from listings (`remove`) or listed with enable_flag 0 (`flag`); default per the deleteMode knob */
  delete(productNos: readonly string[], mode?: DeleteMode): string[];
  /** undelete (create events) */
  restore(productNos: readonly string[]): string[];
  /** discontinue (disable_flag 0, 停售) or, with `false`, back on sale (update events) */
  discontinue(productNos: readonly string[], discontinued?: boolean): string[];
  /** change a live product's name/price/fields, update_time now (update event); undefined when not found */
  edit(productNo: string, edit: ProductEdit): RawOkkiProduct | undefined;
  /** the stored record of a listed product (a flag-deleted one too, with enable_flag 0) */
  get(productNo: string): RawOkkiProduct | undefined;
  /** what a product is: live, deleted (listed or not), discontinued; undefined when never known */
  state(productNo: string): { deleted: boolean; listed: boolean; discontinued: boolean } | undefined;
  all(): Iterable<RawOkkiProduct>;
  readonly size: number;
  readonly groups: OkkiGroup[];
  setGroups(groups: OkkiGroup[]): void;
}

export interface SimPushApi {
  /** set the callback (and, unless `subscribe: false`, the crm.product subscription); returns the config */
  configure(opts: PushOptions): PushConfig;
  /** no callback: nothing is pushed */
  disable(): void;
  readonly config: PushConfig | null;
  readonly subscriptions: Record<string, string[]>;
  /** every message (test event included), oldest first, with its attempts and state */
  readonly deliveries: Delivery[];
  clearDeliveries(): void;
  /** resolves when every message is delivered or dropped */
  settled(timeoutMs?: number): Promise<void>;
  /** OKKI's test event, one attempt */
  sendTest(): Promise<Delivery>;
  /** push events for these products without changing them (to replay an event, or send one for an unknown number) */
  emit(kind: ChangeKind, productNos: readonly string[]): number;
}

export interface OkkiSimulator {
  url: string;
  port: number;
  credentials: { clientId: string; clientSecret: string; scope: string };
  catalog: SimCatalogApi;
  push: SimPushApi;
  readonly knobs: OkkiKnobs;
  setKnobs(patch: KnobsPatch): OkkiKnobs;
  /** a copy of the request log, oldest first */
  readonly requests: SimRequest[];
  clearRequests(): void;
  revokeTokens(): void;
  /** catalogue, knobs, tokens, push config and log back to how the simulator started */
  reset(): void;
  close(): Promise<void>;
}
