import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  canonicalJson,
  parseIdempotencyKey,
  refusesIdempotency,
  requestFingerprint,
} from './idempotency-key.ts';
import { AppError } from './problems.ts';

function assertMalformed(header: string | string[]): void {
  assert.throws(
    () => parseIdempotencyKey(header),
    (error: unknown) =>
      error instanceof AppError &&
      error.code === 'malformed_request' &&
      error.errors?.[0]?.header === 'idempotency-key',
    `expected ${JSON.stringify(header)} to be refused`,
  );
}

describe('parseIdempotencyKey', () => {
  test('when the key is a bare token, it is the key', () => {
    assert.equal(parseIdempotencyKey('order-42'), 'order-42');
    assert.equal(
      parseIdempotencyKey('  8e03978e-40d5-43e8-bc93-6894a57f9324\t'),
      '8e03978e-40d5-43e8-bc93-6894a57f9324',
    );
    assert.equal(parseIdempotencyKey('a\\b'), 'a\\b');
  });

  test('when the key is an RFC 8941 string, its unescaped content is the key', () => {
    assert.equal(parseIdempotencyKey('"order-42"'), 'order-42');
    assert.equal(parseIdempotencyKey('"a\\"b"'), 'a"b');
    assert.equal(parseIdempotencyKey('"a\\\\b"'), 'a\\b');
  });

  test('when the key is 255 characters it is accepted, at 256 it is refused', () => {
    assert.equal(parseIdempotencyKey('k'.repeat(255)), 'k'.repeat(255));
    assert.equal(parseIdempotencyKey(`"${'k'.repeat(255)}"`), 'k'.repeat(255));
    assertMalformed('k'.repeat(256));
    assertMalformed(`"${'k'.repeat(256)}"`);
  });

  test('when the value is empty, not visible ASCII or badly quoted, it is a 400 naming the header', () => {
    for (const header of [
      '',
      '   ',
      '""',
      'a b',
      '" a"',
      'café',
      'a\u0001b',
      '"abc',
      'abc"',
      'ab"c',
      '"a\\nb"',
      '"a"b"',
      'one, two',
    ]) {
      assertMalformed(header);
    }
    assertMalformed(['one', 'two']);
  });

  test('any accepted key is 1–255 visible ASCII characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', maxLength: 300 }), (header) => {
        let key: string;
        try {
          key = parseIdempotencyKey(header);
        } catch (error) {
          assert.ok(error instanceof AppError && error.code === 'malformed_request');
          return;
        }
        assert.match(key, /^[\x21-\x7e]{1,255}$/);
      }),
    );
  });
});

describe('canonicalJson and requestFingerprint', () => {
  test('when two bodies differ only in key order, they are the same request', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } }),
      '{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}',
    );
    const one = requestFingerprint('POST', '/v1/teams', {}, { name: 'A', plan: 'pro' });
    const two = requestFingerprint('POST', '/v1/teams', {}, { plan: 'pro', name: 'A' });
    assert.deepEqual(one.hash, two.hash);
  });

  test('when the method, path, query or body differs, the hash differs', () => {
    const base = requestFingerprint('POST', '/v1/teams', {}, { name: 'A' }).hash;
    for (const other of [
      requestFingerprint('PATCH', '/v1/teams', {}, { name: 'A' }),
      requestFingerprint('POST', '/v1/teams/x', {}, { name: 'A' }),
      requestFingerprint('POST', '/v1/teams', { a: '1' }, { name: 'A' }),
      requestFingerprint('POST', '/v1/teams', {}, { name: 'B' }),
      requestFingerprint('POST', '/v1/teams', {}, [{ name: 'A' }]),
      requestFingerprint('POST', '/v1/teams', {}, undefined),
    ]) {
      assert.notDeepEqual(other.hash, base);
    }
  });

  test('array order matters, object key order does not', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (object) => {
        const reversed = Object.fromEntries(Object.entries(object).reverse());
        assert.equal(canonicalJson(reversed), canonicalJson(object));
        assert.deepEqual(JSON.parse(canonicalJson(object)), JSON.parse(JSON.stringify(object)));
      }),
    );
    assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
  });
});

describe('refusesIdempotency', () => {
  test('the routes that answer with credentials refuse the header, the others take it', () => {
    assert.equal(refusesIdempotency('/v1/auth/login', undefined), true);
    assert.equal(refusesIdempotency('/v1/auth/signup', {}), true);
    assert.equal(refusesIdempotency('/v1/me/password', {}), true);
    assert.equal(refusesIdempotency('/v1/teams', { idempotency: false }), true);
    assert.equal(refusesIdempotency('/v1/teams', {}), false);
    assert.equal(refusesIdempotency('/v1/me/passwords-are-not-this', undefined), false);
  });
});
