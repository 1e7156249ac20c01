/**
 * Saturation signals of the process and its database pool (issue 6): prom-client's
 * default Node metrics (event-loop delay percentiles, heap, GC, CPU, handles),
 * event-loop utilisation, and the pg pool's connections by state. Read at scrape
 * time: nothing here runs between scrapes but prom-client's event-loop monitor.
 */
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client';

export function registerProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  let last = performance.eventLoopUtilization();
  new Gauge({
    name: 'nodejs_eventloop_utilization_ratio',
    help: 'Share of the time since the last scrape the event loop was busy (0–1)',
    registers: [registry],
    collect() {
      const now = performance.eventLoopUtilization();
      this.set(performance.eventLoopUtilization(now, last).utilization);
      last = now;
    },
  });
}

/** `pg_pool_connections{state}`: total, idle, and queries waiting for a connection. */
export function registerPoolMetrics(registry: Registry, pool: pg.Pool): void {
  new Gauge({
    name: 'pg_pool_connections',
    help: 'The pg pool: connections open (total), idle, and queries waiting for one (waiting)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });
}
