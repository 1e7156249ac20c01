import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig } from '../config.ts';
import { accountKey, ipKey } from './caller.ts';
import { policyTable, routeLimit } from './policies.ts';

describe('policy table', () => {
  test('defaults: a whole quota at once for throughput classes, pro above free, auth tighter', () => {
    const table = policyTable(undefined);
    assert.deepEqual(table.throughput.free.read, {
      name: 'read',
      quota: 600,
      windowSeconds: 60,
      burst: 599,
      algorithm: 'gcra',
    });
    for (const name of ['read', 'write', 'search'] as const) {
      assert.ok(table.throughput.pro[name].quota > table.throughput.free[name].quota, name);
    }
    assert.ok(table.throughput.free.write.quota < table.throughput.free.read.quota);
    assert.ok(table.throughput.free.search.quota < table.throughput.free.read.quota);
    assert.deepEqual(
      { quota: table.auth.quota, burst: table.auth.burst },
      { quota: 60, burst: 19 },
    );
    assert.equal(table.login.name, 'login');
  });

  test('RATE_LIMITS overrides one policy at a time, with an optional burst', () => {
    const table = policyTable('read.pro=5000/60, auth=20/60~4');
    assert.equal(table.throughput.pro.read.quota, 5000);
    assert.equal(table.throughput.pro.read.burst, 4999);
    assert.deepEqual({ quota: table.auth.quota, burst: table.auth.burst }, { quota: 20, burst: 4 });
    assert.equal(table.throughput.free.read.quota, 600, 'the rest keep their defaults');
  });

  for (const [spec, message] of [
    ['reads=10/60', /not <policy>=/],
    ['read.free=10', /expected <quota>\/<window seconds>/],
    ['read.free=0/60', /quota is an integer >= 1/],
    ['write.free=100/60~2', /costs up to 10, so the burst must be at least 9/],
    ['read.free', /not <policy>=/],
    ['read.free=600/60=9', /expected <quota>\/<window seconds>/],
    ['toString=1/1', /not <policy>=/],
  ] as const) {
    test(`a bad RATE_LIMITS (${spec}) stops the process with a line naming it`, () => {
      assert.throws(
        () => parseConfig({ RATE_LIMITS: spec }),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.message.startsWith('RATE_LIMITS: ') &&
          message.test(error.message),
      );
    });
  }
});

describe('route classes and costs', () => {
  test('sign-in routes are auth, GETs read, the rest write', () => {
    assert.deepEqual(routeLimit('POST', '/v1/auth/login', {}), { class: 'auth', cost: 1 });
    assert.deepEqual(routeLimit('POST', '/v1/me/password', {}), { class: 'auth', cost: 1 });
    assert.deepEqual(routeLimit('GET', '/v1/tasks/:task_id', {}), { class: 'read', cost: 1 });
    assert.deepEqual(routeLimit('HEAD', '/v1/tasks/:task_id', {}), { class: 'read', cost: 1 });
    assert.deepEqual(routeLimit('PATCH', '/v1/tasks/:task_id', {}), { class: 'write', cost: 1 });
    assert.deepEqual(routeLimit('POST', '/v1/auth/logout', {}), { class: 'write', cost: 1 });
  });

  test('a task list with q is a search; dear routes cost more', () => {
    assert.deepEqual(routeLimit('GET', '/v1/projects/:project_id/tasks', { q: 'login bug' }), {
      class: 'search',
      cost: 1,
    });
    assert.deepEqual(routeLimit('GET', '/v1/projects/:project_id/tasks', { q: '' }), {
      class: 'read',
      cost: 1,
    });
    assert.deepEqual(routeLimit('GET', '/v1/tasks', { q: 'x' }), { class: 'search', cost: 2 });
    assert.deepEqual(routeLimit('GET', '/v1/tasks', {}), { class: 'read', cost: 2 });
    assert.deepEqual(routeLimit('DELETE', '/v1/teams/:team_id', {}), { class: 'write', cost: 10 });
  });

  test('health, metrics, documentation and unknown URLs are not limited', () => {
    for (const route of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs', undefined]) {
      assert.equal(routeLimit('GET', route, {}), undefined, String(route));
    }
  });
});

describe('caller keys', () => {
  test('IPv4 by address; IPv6 by its /64, however it is written', () => {
    assert.equal(ipKey('203.0.113.7'), 'ip:203.0.113.7');
    assert.equal(ipKey('::ffff:203.0.113.7'), 'ip:203.0.113.7');
    const a = ipKey('2001:db8:0:1::1');
    assert.equal(a, 'ip6:2001:db8:0:1::/64');
    assert.equal(ipKey('2001:0DB8:0000:0001:ffff:1:2:3'), a);
    assert.notEqual(ipKey('2001:db8:0:2::1'), a);
    assert.equal(ipKey('::1'), 'ip6:0:0:0:0::/64');
  });

  test('an account key ignores case and surrounding spaces', () => {
    assert.equal(accountKey(' Alice@Example.com '), accountKey('alice@example.com'));
  });
});
