/**
 * Waiting for writes that go through a batching sink (the group form is a plain form: yida/form-sink.ts gathers
 * records into batches and sends them when a batch is full, after a linger, or when told): while waiting, the sink is
 * told to send what it holds, so nothing waits for a batch that will not fill.
 */
import { sleep } from '../../sleep.js';

/** how often a batching sink is told to send what it holds while the group writes are waited for */
const FLUSH_EVERY_MS = 100;

/** Wait for `work`, telling a batching sink to send what it holds every so often meanwhile. */
export async function settled<T>(work: Promise<T>, flush: () => Promise<void> | undefined): Promise<T> {
  let done = false;
  const out = work.finally(() => { done = true; });
  while (!done) {
    await Promise.race([out.then(() => undefined, () => undefined), sleep(FLUSH_EVERY_MS)]);
    if (!done) await flush()?.catch(() => undefined);
  }
  return out;
}
