import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LruTtlCache } from './lru.ts';

describe('LruTtlCache', () => {
  test('when full, inserting evicts the least recently used entry, and a read counts as use', () => {
    const cache = new LruTtlCache<number>(3);
    cache.set('a', 1, 100, 0);
    cache.set('b', 2, 100, 0);
    cache.set('c', 3, 100, 0);
    assert.equal(cache.get('a', 1), 1); // b is now the coldest
    cache.set('d', 4, 100, 1);
    assert.equal(cache.size, 3);
    assert.equal(cache.get('b', 1), undefined);
    assert.deepEqual(
      ['a', 'c', 'd'].map((key) => cache.get(key, 1)),
      [1, 3, 4],
    );
  });

  test('updating a key replaces its value and expiry without growing the cache', () => {
    const cache = new LruTtlCache<number>(2);
    cache.set('a', 1, 10, 0);
    cache.set('a', 2, 50, 5);
    assert.equal(cache.size, 1);
    assert.equal(cache.get('a', 20), 2);
    assert.equal(cache.expiresAt('a', 20), 50);
  });

  test('an entry is gone at its expiry: reads miss and drop it', () => {
    const cache = new LruTtlCache<string>(10);
    cache.set('a', 'x', 100, 0);
    assert.equal(cache.get('a', 99), 'x');
    assert.equal(cache.expiresAt('a', 100), undefined);
    assert.equal(cache.get('a', 100), undefined);
    assert.equal(cache.size, 0);
  });

  test('inserts drop expired entries at the cold end, so idle callers give memory back', () => {
    const cache = new LruTtlCache<number>(100);
    for (let i = 0; i < 10; i++) cache.set(`old${i}`, i, 10, 0);
    cache.set('live', 0, 1000, 0);
    for (let i = 0; i < 5; i++) cache.set(`new${i}`, i, 1000, 20);
    assert.equal(cache.size, 10 + 1 + 5 - 5 * 2);
  });

  test('100 000 distinct keys through a cache of 1000 keep it at 1000 entries', () => {
    const cache = new LruTtlCache<number>(1000);
    for (let i = 0; i < 100_000; i++) cache.set(`k${i}`, i, Number.POSITIVE_INFINITY, i);
    assert.equal(cache.size, 1000);
    assert.equal(cache.get('k99999', 0), 99_999);
    assert.equal(cache.get('k98999', 0), undefined);
  });

  test('an entry used within the last half of the cache is never evicted, however hot', () => {
    const cache = new LruTtlCache<number>(100);
    cache.set('hot', 0, Number.POSITIVE_INFINITY, 0);
    // 10 000 new callers, the hot one used after every 49 of them: it must survive.
    for (let i = 0; i < 10_000; i++) {
      cache.set(`k${i}`, i, Number.POSITIVE_INFINITY, 0);
      if (i % 49 === 0) assert.equal(cache.get('hot', 0), 0, `evicted after k${i}`);
    }
    assert.equal(cache.size, 100);
    // Left alone, it is evicted once the whole cache has been placed after it.
    for (let i = 0; i < 100; i++) cache.set(`late${i}`, i, Number.POSITIVE_INFINITY, 0);
    assert.equal(cache.get('hot', 0), undefined);
  });

  test('the bound is a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new LruTtlCache(bad), RangeError);
    }
  });
});
