/** What the console needs from the rest of the connector (wired in main.ts; tests build it the same way). */
import type Keyv from 'keyv';
import type { SyncService, TriggerRequest } from '../core/index.js';
import type { PreviewItem } from '../mapping/preview.js';
import type { ProductLookup } from './lookup.js';
import type { MappingMonitor } from './mapping-monitor.js';
import type { UsageView } from './pages/overview.js';

export interface ConsoleDeps {
  service: SyncService;
  /** the connector's store: sessions and live progress snapshots live here (shared by replicas) */
  kv: Keyv;
  cursor: () => Promise<Date | undefined>;
  lookup: (productNo: string) => Promise<ProductLookup>;
  monitor?: MappingMonitor;
  /** dry-run preview of the first few products of the catalogue (reads OKKI, writes nothing) */
  preview?: (limit: number) => Promise<{ items: PreviewItem[]; labels: Map<string, string> }>;
  /** month-to-date usage, when metering exists */
  usage?: () => Promise<UsageView | undefined>;
  nextScheduledRun?: () => Date | null;
  mappingFile: string;
  timezone: string;
  sandbox: boolean;
  apiKey?: string;
  /** open event streams, ended when the console closes (so a shutdown does not wait for browsers to hang up) */
  streams?: Set<() => void>;
}

/** The trigger the console's buttons send (`console` is a trigger of its own in run records and reports). */
export type ConsoleTrigger = Omit<TriggerRequest, 'trigger'> & Record<string, unknown>;

/** Notices a redirect may carry (`?notice=`): fixed texts, never reflected input. */
export const NOTICES: Record<string, string> = {
  started: '已开始运行 / Run started',
  coalesced: '已有运行在进行中：请求已并入该运行，指定的产品可能不在其中，结束后可再试 / A run was already in progress: the request joined it (the products you chose may not be in it); try again once it ends',
  'logged-out': '已退出 / Logged out',
  rechecked: '已重新检查映射 / Mapping checked again',
  unsupported: '这个运行没有可确认或修复的内容 / This run has nothing to confirm or repair',
  'no-targets': '没有可重试的产品编号 / No product numbers to retry',
  'bad-number': '产品编号无效 / Not a valid product number',
  refused: '服务拒绝了请求（可能正在关闭）/ The service refused (it may be shutting down)',
};

export function noticeText(key: string | string[] | undefined): string | undefined {
  return typeof key === 'string' ? NOTICES[key] : undefined;
}
