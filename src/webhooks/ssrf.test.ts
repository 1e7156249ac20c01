import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isPrivateAddress, literalTargetRefusal, targetRefusal } from './ssrf.ts';

describe('the SSRF guard', () => {
  test('private, loopback, link-local and reserved addresses are refused, in IPv4 and IPv6', () => {
    for (const address of [
      '0.0.0.0',
      '10.0.0.1',
      '100.64.1.1',
      '127.0.0.1',
      '127.255.255.254',
      '169.254.169.254',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '198.18.0.1',
      '224.0.0.1',
      '255.255.255.255',
      '::',
      '::1',
      'fc00::1',
      'fd12:3456::1',
      'fe80::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      '64:ff9b::a9fe:a9fe',
      'not-an-address',
    ]) {
      assert.equal(isPrivateAddress(address), true, address);
    }
  });

  test('public addresses pass', () => {
    for (const address of [
      '8.8.8.8',
      '1.1.1.1',
      '172.32.0.1',
      '93.184.216.34',
      '2606:4700::1111',
      '::ffff:8.8.8.8',
    ]) {
      assert.equal(isPrivateAddress(address), false, address);
    }
  });

  test('address literals are refused in URLs, brackets and all; names are left to the lookup', async () => {
    assert.ok(literalTargetRefusal(new URL('http://[::1]:8080/x')));
    assert.ok(literalTargetRefusal(new URL('http://169.254.169.254/')));
    assert.equal(literalTargetRefusal(new URL('https://8.8.8.8/')), undefined);
    assert.equal(literalTargetRefusal(new URL('https://hooks.example.com/')), undefined);
    // localhost resolves to loopback, so it is refused when saved.
    assert.ok(await targetRefusal(new URL('http://localhost:3000/')));
  });
});
