import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_WEBHOOK_RETRY_SCHEDULE, parseConfig } from '../config.ts';
import { circuitOpenForMs, jittered, outcomeOf, parseRetryAfter } from './retry-policy.ts';

const SCHEDULE = parseConfig({ WEBHOOK_RETRY_SCHEDULE: DEFAULT_WEBHOOK_RETRY_SCHEDULE }).webhooks
  .retryScheduleMs;
const failure = { kind: 'response', status: 500 } as const;

describe('webhook retry policy', () => {
  test('the default schedule is the contract’s: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h', () => {
    const minutes = SCHEDULE.map((ms) => ms / 60_000);
    assert.deepEqual(minutes, [5 / 60, 5, 30, 120, 300, 600, 840, 1200, 1440]);
  });

  test('every 2xx succeeds; 3xx, 4xx, 5xx and no response are failures to retry', () => {
    for (const status of [200, 201, 204, 299]) {
      assert.deepEqual(
        outcomeOf({
          result: { kind: 'response', status },
          attempts: 1,
          manual: false,
          scheduleMs: SCHEDULE,
        }),
        { next: 'succeeded' },
      );
    }
    for (const result of [
      { kind: 'response', status: 301 },
      { kind: 'response', status: 400 },
      { kind: 'response', status: 500 },
      { kind: 'error', error: 'timed out' },
    ] as const) {
      assert.equal(
        outcomeOf({ result, attempts: 1, manual: false, scheduleMs: SCHEDULE }).next,
        'retry',
      );
    }
  });

  test('attempt n waits the schedule’s n-th delay ±20 %, and after the last retry the endpoint is disabled', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: SCHEDULE.length }),
        fc.double({ min: 0, max: 0.9999, noNaN: true }),
        (attempts, r) => {
          const outcome = outcomeOf({
            result: failure,
            attempts,
            manual: false,
            scheduleMs: SCHEDULE,
            random: () => r,
          });
          assert.equal(outcome.next, 'retry');
          const base = SCHEDULE[attempts - 1]!;
          if (outcome.next === 'retry') {
            assert.ok(outcome.delayMs >= base * 0.8 - 1 && outcome.delayMs <= base * 1.2 + 1);
          }
        },
      ),
    );
    assert.deepEqual(
      outcomeOf({
        result: failure,
        attempts: SCHEDULE.length + 1,
        manual: false,
        scheduleMs: SCHEDULE,
      }),
      { next: 'failed', disableEndpoint: 'retries_exhausted' },
    );
  });

  test('jitter spreads retries: a thousand draws cover most of the ±20 % band', () => {
    const draws = Array.from({ length: 1000 }, () => jittered(10_000));
    assert.ok(Math.min(...draws) < 8_200 && Math.max(...draws) > 11_800);
    assert.ok(draws.every((ms) => ms >= 8_000 && ms <= 12_000));
  });

  test('410 fails and disables at once; a manual retry that fails just fails', () => {
    assert.deepEqual(
      outcomeOf({
        result: { kind: 'response', status: 410 },
        attempts: 1,
        manual: false,
        scheduleMs: SCHEDULE,
      }),
      { next: 'failed', disableEndpoint: 'gone' },
    );
    assert.deepEqual(
      outcomeOf({ result: failure, attempts: 12, manual: true, scheduleMs: SCHEDULE }),
      {
        next: 'failed',
      },
    );
  });

  test('429, 502, 503 and 504 honour a longer Retry-After, capped at a day; other statuses ignore it', () => {
    const at = (status: number, retryAfterMs: number) =>
      outcomeOf({
        result: { kind: 'response', status, retryAfterMs },
        attempts: 1,
        manual: false,
        scheduleMs: [1000],
        random: () => 0.5,
      });
    for (const status of [429, 502, 503, 504]) {
      assert.deepEqual(at(status, 120_000), { next: 'retry', delayMs: 120_000 });
      assert.deepEqual(
        at(status, 10),
        { next: 'retry', delayMs: 1000 },
        'never sooner than the schedule',
      );
      assert.deepEqual(at(status, 9 * 86_400_000), { next: 'retry', delayMs: 86_400_000 });
    }
    assert.deepEqual(at(500, 120_000), { next: 'retry', delayMs: 1000 });
  });

  test('Retry-After is read as seconds or as an HTTP date', () => {
    assert.equal(parseRetryAfter('120'), 120_000);
    const now = Date.parse('2026-12-03T10:00:00Z');
    assert.equal(parseRetryAfter('Thu, 03 Dec 2026 10:01:00 GMT', now), 60_000);
    assert.equal(parseRetryAfter('Thu, 03 Dec 2026 09:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
  });

  test('the circuit stays closed below the threshold, then opens for a cooldown that doubles up to an hour', () => {
    const open = (failures: number) => circuitOpenForMs(failures, 5, 60_000, () => 0.5);
    assert.equal(open(4), undefined);
    assert.equal(open(5), 60_000);
    assert.equal(open(6), 120_000);
    assert.equal(open(7), 240_000);
    assert.equal(open(50), 3_600_000);
  });
});
