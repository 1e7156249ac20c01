// The in-memory rate limit store under a flood of distinct callers: how much heap
// it keeps (after a full GC) and how much it peaks at, against issue 4's bound of
// 64 MB of extra heap with 1M distinct callers.
//
//   node --expose-gc bench/ratelimit/memory-footprint.ts [--keys 1000000] [--max-entries 100000]
//
// Every caller gets a UUIDv7 key (`user:<uuid>`, as the policy layer will build
// them, made per request so the key strings count as the store's memory) and
// one decision on a policy whose one request takes 3 minutes to refill, so no
// entry expires during the run: the worst case, where only the LRU bound holds
// memory down.
import { parseArgs } from 'node:util';
import { uuidv7 } from '../../src/lib/ids.ts';
import { DEFAULT_MAX_ENTRIES, MemoryRateLimitStore } from '../../src/ratelimit/memory-store.ts';
import type { RatePolicy } from '../../src/ratelimit/types.ts';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '1000000' },
    'max-entries': { type: 'string', default: String(DEFAULT_MAX_ENTRIES) },
  },
});
const keyCount = Number(values.keys);
const maxEntries = Number(values['max-entries']);

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  process.stderr.write('run with node --expose-gc\n');
  process.exit(2);
}

function heapAfterGc(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

const policy: RatePolicy = {
  name: 'auth',
  quota: 5,
  windowSeconds: 900,
  burst: 0,
  algorithm: 'gcra',
};

const baseline = heapAfterGc();
const store = new MemoryRateLimitStore({ maxEntries });

let peak = 0;
for (let i = 0; i < keyCount; i++) {
  await store.decide(`user:${uuidv7()}`, policy, 1);
  if (i % 10_000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);
}
peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);
const retained = heapAfterGc() - baseline;

const report = {
  keys: keyCount,
  maxEntries,
  entries: store.size,
  retainedHeap: mb(retained),
  bytesPerEntry: Math.round(retained / store.size),
  peakHeapWithGarbage: mb(peak),
  withinBound: retained < 64 * 1024 * 1024,
};
console.log(JSON.stringify(report, null, 2));
// Keep the store reachable until after the measurement.
await store.close();
