/**
 * The groups' part of a run, as the lifecycle sees it: before the products, the groups mirror writes the group form
 * (when YIDA_GROUP_FORM_UUID is set) and renamed groups are noticed; the products of renamed groups are read again
 * after the run's own pages; at the end, the group findings go into the run record and this run's group paths are
 * kept once the run read everything it had to. Runs over the window or the catalogue (incremental, full, sweep; an
 * audit compares the group form instead): a targeted run (product numbers, push) reads what it was asked for and
 * nothing else.
 */
import type {
  GroupMirrorSummary, GroupTree, MappingContext, ProductPage, ProductSource, RunFailure, RunRecord,
} from '../../core/index.js';
import { emptyGroupSummary, RECORDED_GROUP_IDS } from '../../core/index.js';
import type { GroupStateStore } from '../../store/types.js';
import type { Logger } from '../../log.js';
import type { RunPlan } from '../plan.js';
import { MAX_RECORDED_FAILURES } from '../pipeline.js';
import type { GroupMirror } from './mirror.js';
import { checkRenames, type RenameCheck } from './renames.js';

export interface GroupPhaseDeps {
  source: ProductSource;
  state: GroupStateStore;
  /** the groups mirror, when a group form is configured */
  mirror?: GroupMirror;
  /** the product mapping reads group names (`{{一级分组}}` ...): products of renamed groups must be read again */
  productsReadGroups: boolean;
  logger?: Logger;
}

/** modes that read the window (or the whole list) and so may write groups and keep paths */
const GROUP_MODES: ReadonlySet<string> = new Set(['incremental', 'full', 'sweep', 'audit']);

export class GroupPhase {
  constructor(private readonly deps: GroupPhaseDeps) {}

  /** Before the products: write the groups, find renamed ones. Undefined for runs the groups take no part in. */
  async begin(tree: GroupTree, ctx: MappingContext, plan: RunPlan): Promise<GroupRun | undefined> {
    if (!GROUP_MODES.has(plan.mode) || !tree.records) return undefined;
    const confirmDeletes = plan.request.confirmDeletes === true;
    // An audit compares (and repairs, when asked) and touches nothing else.
    const mirrored = plan.mode === 'audit'
      ? await this.deps.mirror?.audit(tree, ctx, { repair: plan.request.repair === true, confirm: confirmDeletes, signal: plan.signal })
      : await this.deps.mirror?.run(tree, ctx, { signal: plan.signal, confirmDeletes });
    const renames = await checkRenames(tree, this.deps.state);
    const pending = this.deps.productsReadGroups && renames.renamed.length > 0;
    // A run over the window without a start (the first run, a full run) reads the renamed groups' products anyway; an
    // incremental run reads them again after its window; a sweep reads no product data, so the paths are not kept
    // then and the next incremental run does it.
    const readsAll = plan.window !== undefined && plan.window.start === undefined;
    const reread = pending && plan.window?.start !== undefined;
    if (renames.renamed.length) this.deps.logger?.info({ groups: renames.renamed.slice(0, 20), reread }, 'groups renamed since the last run');
    return new GroupRun(this.deps.source, plan, tree, renames, reread, !pending || reread || readsAll, mirrored);
  }
}

export class GroupRun {
  private productsRead = 0;

  constructor(
    private readonly source: ProductSource, private readonly plan: RunPlan, private readonly tree: GroupTree,
    private readonly renames: RenameCheck, private readonly reread: boolean,
    /** this run reads what a rename needs read (or there is nothing to read): its paths may be kept */
    private readonly mayKeepPaths: boolean,
    private readonly mirrored?: { summary: GroupMirrorSummary; failures: RunFailure[] },
  ) {}

  /** The run's pages, then (when groups were renamed) every listed product in a renamed group, read again. */
  pages(main: AsyncIterable<ProductPage>): AsyncIterable<ProductPage> {
    if (!this.reread) return main;
    const affected = new Set(this.renames.renamed);
    const { source, plan } = this;
    const self = this;
    return (async function* pages() {
      yield* main;
      // The list has no group filter: it is read without a window and only these groups' items go on (before any
      // detail call). The pipeline skips a product it already had from the window.
      const only = (item: { group_id?: unknown }) => affected.has(Number(item.group_id));
      for await (const page of source.pages({ end: plan.window!.end }, { signal: plan.signal, only })) {
        self.productsRead += page.items.length;
        yield page;
      }
    })();
  }

  /** The run is partial when a group was rejected or failed (as for products). */
  get partial(): boolean {
    return (this.mirrored?.failures.length ?? 0) > 0;
  }

  /**
   * Put the group findings into the record; keep this run's paths when the products were all written (else the next
   * run notices the same renames and reads their products again).
   */
  async finish(run: RunRecord, productsComplete: boolean): Promise<void> {
    const { renamed } = this.renames;
    if (this.mirrored || (renamed.length && this.reread)) {
      const summary = this.mirrored?.summary ?? emptyGroupSummary(this.tree.records?.().length ?? 0);
      if (renamed.length) summary.renamed = { groups: renamed.length, group_ids: renamed.slice(0, RECORDED_GROUP_IDS), productsRead: this.productsRead };
      run.groups = summary;
    }
    for (const f of this.mirrored?.failures ?? []) {
      run.failuresTotal = (run.failuresTotal ?? run.failures.length) + 1;
      if (run.failures.length < MAX_RECORDED_FAILURES) run.failures.push(f);
    }
    if (productsComplete && this.mayKeepPaths) await this.renames.commit();
  }
}
