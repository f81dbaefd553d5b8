/**
 * Preloaded into the service by the push memory measure (`node --expose-gc --import ./bench/gc-probe.ts src/main.ts`):
 * on SIGUSR2 it collects garbage twice and writes `BENCH_HEAP <json>` to stderr, so the bench reads the heap the
 * service really holds rather than what V8 has not yet returned (RSS).
 */
process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.(); gc?.();
  const m = process.memoryUsage();
  process.stderr.write(`BENCH_HEAP ${JSON.stringify({ heapUsedMb: Math.round(m.heapUsed / 1e5) / 10, rssMb: Math.round(m.rss / 1e5) / 10, externalMb: Math.round(m.external / 1e5) / 10 })}\n`);
});
