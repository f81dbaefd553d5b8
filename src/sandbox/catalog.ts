/**
 * Seeded, deterministic OKKI catalogue: a two-level product-group tree with Chinese names and products shaped like
 * the real `/v1/product/list` + `/v1/product/info` payloads (ids as ints, decimals as strings, undocumented extras).
 * Products are generated lazily by index (`productAt(i)`) so a 100k catalogue costs nothing until it is read.
 */
import { seededRandom } from './random.js';

export interface OkkiGroup {
  id: number;
  name: string;
  parent_id: number;
  layer: number;
  description: string;
  prefix: string;
  order_rank: number;
  create_time: string;
  update_time: string;
}

/** A product as OKKI stores it. `product_type` and `sku_items` are only shown by /v1/product/info. */
export type RawOkkiProduct = Record<string, unknown> & {
  product_id: number;
  product_no: string;
  name: string;
  group_id: number;
  update_time: string;
  create_time: string;
  product_type?: number;
};

export interface CatalogOptions {
  seed: number;
  /** number of products */
  products: number;
  /** total number of groups (roots + children); default 40 */
  groups?: number;
  /** instant the update times are spread back from; default: now (whole second) */
  now?: Date;
  /** how far back update times reach; default 30 days */
  spanDays?: number;
}

export interface GeneratedCatalog {
  seed: number;
  size: number;
  now: Date;
  groups: OkkiGroup[];
  /** the i-th product (0-based), generated on demand: the same seed and index always give the same product */
  productAt(i: number): RawOkkiProduct;
  /** the i-th product's update/create instants (epoch seconds) without building it */
  timesAt(i: number): { updateS: number; createS: number };
  /** every product, materialised on first access (avoid for large catalogues: use productAt) */
  readonly products: RawOkkiProduct[];
}

export const FIRST_PRODUCT_ID = 3_000_001;
export const FIRST_GROUP_ID = 1001;
const BEIJING_OFFSET_S = 8 * 3600;

/** `YYYY-MM-DD HH:mm:ss` in UTC+8 (OKKI's wall clock) for epoch seconds. */
export function formatBeijing(epochSeconds: number): string {
  const d = new Date((epochSeconds + BEIJING_OFFSET_S) * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** Epoch seconds for an OKKI wall-clock text (UTC+8); undefined when it is not `YYYY-MM-DD HH:mm:ss`. */
export function parseBeijing(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text.trim());
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined;
  return Date.UTC(y, mo - 1, d, h, mi, s) / 1000 - BEIJING_OFFSET_S;
}

export function productNoFor(i: number): string {
  return `P-${String(i + 1).padStart(6, '0')}`;
}

/** The simulators' one seeded PRNG, also used for catalogue data. */
export const rng = seededRandom;

function mix(seed: number, i: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35);
  h ^= h >>> 16; h = Math.imul(h, 0x7feb352d); h ^= h >>> 15; h = Math.imul(h, 0x846ca68b); h ^= h >>> 16;
  return h >>> 0;
}

const ROOTS: Array<[string, string, string[]]> = [
  ['电子产品', 'DZ', ['手机配件', '电脑周边', '音频设备', '智能穿戴', '充电设备', '摄影器材']],
  ['家居用品', 'JJ', ['厨房用具', '收纳整理', '床上用品', '灯具照明', '家居装饰', '清洁工具']],
  ['服装鞋帽', 'FZ', ['男装', '女装', '童装', '运动鞋', '帽子围巾', '箱包配饰']],
  ['运动户外', 'YD', ['健身器材', '露营装备', '骑行用品', '球类运动', '水上运动', '登山徒步']],
  ['美妆个护', 'MZ', ['护肤品', '彩妆', '美发工具', '口腔护理', '香水', '美甲用品']],
  ['办公文具', 'BG', ['书写工具', '纸品本册', '文件管理', '办公设备', '桌面用品', '画材']],
  ['汽车配件', 'QC', ['车载电器', '内饰用品', '外饰改装', '维修工具', '轮胎轮毂', '安全应急']],
  ['工业设备', 'GY', ['五金工具', '电动工具', '阀门管件', '传动部件', '检测仪器', '焊接设备']],
];
const ADJ = ['无线', '便携式', '多功能', '智能', '迷你', '加厚', '防水', '折叠', '环保', '高清', '快充', '静音', '不锈钢', '硅胶', '复古'];
const NOUN = ['蓝牙耳机', '数据线', '保温杯', '收纳盒', '台灯', '背包', '瑜伽垫', '手机壳', '充电宝', '键盘', '鼠标', '帐篷', '水杯', '剪刀', '笔记本'];
const UNITS = ['个', '件', '套', '箱', '台', '双', 'PCS'];
const MATERIALS = ['ABS', '铝合金', '棉', '硅胶', '不锈钢', '聚酯纤维', '竹木'];
const COLORS = ['黑色', '白色', '红色', '蓝色', '灰色', '绿色'];

function buildGroups(total: number, seed: number, nowS: number): OkkiGroup[] {
  const rootCount = Math.max(1, Math.min(ROOTS.length, Math.ceil(total / 6)));
  const groups: OkkiGroup[] = [];
  const r = rng(seed ^ 0x5a5a);
  let id = FIRST_GROUP_ID;
  const stamp = () => formatBeijing(nowS - 86400 * (60 + Math.floor(r() * 300)));
  const roots: OkkiGroup[] = [];
  for (let k = 0; k < rootCount; k++) {
    const [name, prefix] = ROOTS[k];
    const t = stamp();
    const g: OkkiGroup = { id: id++, name, parent_id: 0, layer: 1, description: `${name}类目`, prefix, order_rank: k + 1, create_time: t, update_time: t };
    roots.push(g); groups.push(g);
  }
  for (let c = 0; groups.length < total; c++) {
    const root = roots[c % rootCount];
    const children = ROOTS[c % rootCount][2];
    const round = Math.floor(c / rootCount);
    const base = children[round % children.length];
    const name = round < children.length ? base : `${base}${Math.floor(round / children.length) + 1}`;
    const t = stamp();
    groups.push({ id: id++, name, parent_id: root.id, layer: 2, description: `${root.name}/${name}`, prefix: `${root.prefix}${round + 1}`, order_rank: round + 1, create_time: t, update_time: t });
  }
  return groups;
}

function money(n: number): string { return n.toFixed(2); }

export function generateCatalog(opts: CatalogOptions): GeneratedCatalog {
  if (!Number.isInteger(opts.seed)) throw new TypeError('generateCatalog: seed must be an integer');
  if (!Number.isInteger(opts.products) || opts.products < 0) throw new TypeError('generateCatalog: products must be a whole number ≥ 0');
  const groupTotal = opts.groups ?? 40;
  if (!Number.isInteger(groupTotal) || groupTotal < 1) throw new TypeError('generateCatalog: groups must be a whole number ≥ 1');
  const spanS = Math.round((opts.spanDays ?? 30) * 86400);
  if (!(spanS > 0)) throw new TypeError('generateCatalog: spanDays must be > 0');
  const nowS = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  const seed = opts.seed;
  const groups = buildGroups(groupTotal, seed, nowS);
  const roots = groups.filter((g) => g.layer === 1);
  const leaves = groups.filter((g) => g.layer === 2);

  function productAt(i: number): RawOkkiProduct {
    if (!Number.isInteger(i) || i < 0 || i >= opts.products) throw new RangeError(`productAt: index ${i} outside 0..${opts.products - 1}`);
    const r = rng(mix(seed, i));
    // times are drawn first so timesAt() can replay them without building the product
    const updS = nowS - 1 - Math.floor(r() * spanS);
    const creS = updS - Math.floor(r() * 180 * 86400);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
    const group = leaves.length && r() < 0.85 ? pick(leaves) : pick(roots);
    const id = FIRST_PRODUCT_ID + i;
    const no = productNoFor(i);
    const adj = pick(ADJ); const noun = pick(NOUN);
    const cost = 5 + r() * 200;
    const fobMin = cost / 6.5 * (1.1 + r() * 0.3);
    const fileId = 9_000_000 + i;
    const userId = 100 + Math.floor(r() * 5);
    return {
      product_id: id,
      product_no: no,
      name: `${adj}${noun} ${String.fromCharCode(65 + Math.floor(r() * 26))}${Math.floor(r() * 90) + 10}`,
      cn_name: `${adj}${noun}`,
      group_id: group.id,
      group_name: group.name,
      model: `MD-${Math.floor(r() * 9000) + 1000}`,
      unit: pick(UNITS),
      description: `${adj}${noun}，${pick(MATERIALS)}材质，适合外贸出口。`,
      product_remark: r() < 0.3 ? '' : `备注：${pick(COLORS)}可选`,
      hs_code: String(8500000000 + Math.floor(r() * 99999999)),
      image: `https://img.sandbox.invalid/p/${id}.jpg`,
      images: [{ file_id: fileId, file_name: `${no}.jpg`, file_path: `https://img.sandbox.invalid/p/${id}.jpg` }],
      category_ids: [[Math.floor(r() * 50) + 1, Math.floor(r() * 500) + 100]],
      enable_flag: 1,
      // OKKI's inverted sense: disable_flag 1 = on sale (0 = 停售); the simulator's state decides both flags when served
      disable_flag: 1,
      cost_with_tax: { cost_currency: 'CNY', cost: money(cost) },
      fob: { price_currency: 'USD', price_min: money(fobMin), price_max: money(fobMin * 1.3), fob_type: 1, quantity: String(100 * (1 + Math.floor(r() * 10))) },
      package_size: { package_length: money(10 + r() * 50), package_width: money(10 + r() * 40), package_height: money(5 + r() * 30), package_unit: 'cm' },
      package_volume: money(r() * 0.2),
      package_gross_weight: money(r() * 20),
      info_json: [{ name: '材质', value: pick(MATERIALS) }, { name: '颜色', value: pick(COLORS) }],
      source_type: 1,
      create_time: formatBeijing(creS),
      update_time: formatBeijing(updS),
      create_user_info: { user_id: userId, nickname: `销售${userId}` },
      update_user_info: { user_id: userId, nickname: `销售${userId}` },
      // undocumented extras seen on real payloads: clients must ignore what they do not know
      sku_count: 0,
      is_sync_to_ali: 0,
      external_field_data: {},
      ext_attr_v2: { sandbox: true, batch: i % 7 },
      product_type: 1 + Math.floor(r() * 3),
    };
  }

  function timesAt(i: number): { updateS: number; createS: number } {
    const r = rng(mix(seed, i));
    const updateS = nowS - 1 - Math.floor(r() * spanS);
    return { updateS, createS: updateS - Math.floor(r() * 180 * 86400) };
  }

  let cached: RawOkkiProduct[] | undefined;
  return {
    seed, size: opts.products, now: new Date(nowS * 1000), groups, productAt, timesAt,
    get products() {
      cached ??= Array.from({ length: opts.products }, (_, i) => productAt(i));
      return cached;
    },
  };
}
