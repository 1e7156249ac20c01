import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ConfigError,
  defaultHeapThresholdMib,
  MIN_SIGNING_KEY_BYTES,
  parseConfig,
} from './config.ts';
import { policyTable } from './ratelimit/policies.ts';
import { loadSigningSecret } from './secrets.ts';

const KEY = 'k'.repeat(MIN_SIGNING_KEY_BYTES);

/** Asserts parseConfig(env) throws a ConfigError whose message names `variable`. */
function assertRefused(env: Record<string, string>, variable: string): void {
  assert.throws(
    () => parseConfig(env),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
      assert.ok(
        error.message.includes(variable),
        `expected the message to name ${variable}: ${error.message}`,
      );
      return true;
    },
  );
}

describe('parseConfig', () => {
  test('with an empty environment, every setting takes its documented default', () => {
    const config = parseConfig({});
    assert.deepEqual(
      { ...config },
      {
        env: 'development',
        port: 3000,
        host: '127.0.0.1',
        databaseUrl: undefined,
        databasePoolSize: 10,
        dataDir: path.resolve('data'),
        redisUrl: undefined,
        logLevel: 'info',
        tokenSigningKey: undefined,
        adminToken: undefined,
        accessTokenTtlSeconds: 600,
        refreshIdleTtlSeconds: 30 * 86_400,
        refreshAbsoluteTtlSeconds: 90 * 86_400,
        refreshReuseGraceSeconds: 3,
        shutdownTimeoutMs: 10_000,
        shutdownDrainDelayMs: 0,
        readinessTimeoutMs: 500,
        trustProxy: false,
        jobsInProcess: true,
        jobConcurrency: 4,
        jobLockTimeoutSeconds: 30,
        workerMetricsPort: undefined,
        metricsEnabled: true,
        metricsToken: undefined,
        metricsPort: undefined,
        metricsHost: '127.0.0.1',
        trashRetentionDays: 30,
        smtpUrl: undefined,
        smtpFrom: 'Tasklane <notifications@tasklane.invalid>',
        rateLimit: {
          enabled: true,
          policies: policyTable(undefined),
          concurrency: 20,
          nodeRequestsPerSecond: 10_000,
          redisTimeoutMs: 25,
          redisKeyPrefix: 'rl:',
        },
        loadShedding: {
          maxEventLoopDelayMs: 100,
          maxHeapUsedBytes: defaultHeapThresholdMib() * 1024 * 1024,
          maxInFlight: 256,
        },
        webhooks: {
          allowPrivateTargets: false,
          retryScheduleMs: [
            5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000,
            86_400_000,
          ],
          timeoutMs: 10_000,
          circuitFailures: 5,
          circuitCooldownMs: 60_000,
        },
        observability: { slowRequestMs: 1000, slowQueryMs: 250, tracing: undefined },
      },
    );
  });

  test('when values are given, they are parsed into typed settings', () => {
    const config = parseConfig({
      NODE_ENV: 'test',
      PORT: '8080',
      HOST: '::1',
      DATABASE_URL: 'postgresql://app@db.internal:5432/tasklane',
      REDIS_URL: 'rediss://cache.internal:6380',
      LOG_LEVEL: 'debug',
      TOKEN_SIGNING_KEY: KEY,
      TRUST_PROXY: 'TRUE',
      DATA_DIR: '/var/lib/tasklane',
    });
    assert.equal(config.env, 'test');
    assert.equal(config.port, 8080);
    assert.equal(config.host, '::1');
    assert.equal(config.databaseUrl, 'postgresql://app@db.internal:5432/tasklane');
    assert.equal(config.redisUrl, 'rediss://cache.internal:6380');
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.tokenSigningKey, KEY);
    assert.equal(config.trustProxy, true);
    assert.equal(config.dataDir, '/var/lib/tasklane');
  });

  test('TRUST_PROXY takes the proxies’ addresses and ranges', () => {
    assert.deepEqual(parseConfig({ TRUST_PROXY: 'loopback' }).trustProxy, ['loopback']);
    assert.deepEqual(parseConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.5,fd00::/8' }).trustProxy, [
      '10.0.0.0/8',
      '192.168.1.5',
      'fd00::/8',
    ]);
    assert.equal(parseConfig({ TRUST_PROXY: 'false' }).trustProxy, false);
  });

  test('webhook durations take ms, s, m and h, separated by spaces or commas', () => {
    const { webhooks } = parseConfig({
      WEBHOOK_RETRY_SCHEDULE: '20ms, 1s 2m,3h',
      WEBHOOK_TIMEOUT: '500ms',
    });
    assert.deepEqual(webhooks.retryScheduleMs, [20, 1000, 120_000, 10_800_000]);
    assert.equal(webhooks.timeoutMs, 500);
  });

  test('the job lock timeout and the worker metrics port take whole numbers', () => {
    const config = parseConfig({ JOB_LOCK_TIMEOUT_SECONDS: '2', WORKER_METRICS_PORT: '9464' });
    assert.equal(config.jobLockTimeoutSeconds, 2);
    assert.equal(config.workerMetricsPort, 9464);
  });

  test('an empty or blank variable counts as unset', () => {
    const config = parseConfig({ PORT: '', LOG_LEVEL: '   ', DATABASE_URL: '' });
    assert.equal(config.port, 3000);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.databaseUrl, undefined);
  });

  const badValues: [Record<string, string>, string][] = [
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: '-1' }, 'PORT'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL'],
    [{ SMTP_URL: 'http://mail.internal' }, 'SMTP_URL'],
    [{ TRUST_PROXY: 'maybe' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: '10.0.0.0/33' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: '1' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: '10.0.0.1, proxy.internal' }, 'TRUST_PROXY'],
    [{ DATABASE_POOL_SIZE: '0' }, 'DATABASE_POOL_SIZE'],
    [{ WEBHOOK_RETRY_SCHEDULE: '5s 5 minutes' }, 'WEBHOOK_RETRY_SCHEDULE'],
    [{ WEBHOOK_TIMEOUT: '10' }, 'WEBHOOK_TIMEOUT'],
    [{ JOB_LOCK_TIMEOUT_SECONDS: '0' }, 'JOB_LOCK_TIMEOUT_SECONDS'],
    [{ JOB_LOCK_TIMEOUT_SECONDS: '14401' }, 'JOB_LOCK_TIMEOUT_SECONDS'],
    [{ WORKER_METRICS_PORT: '0' }, 'WORKER_METRICS_PORT'],
    [{ WORKER_METRICS_PORT: '9100x' }, 'WORKER_METRICS_PORT'],
    [{ METRICS_TOKEN: 'm'.repeat(31) }, 'METRICS_TOKEN'],
    [{ METRICS_TOKEN: `${'m'.repeat(32)}"` }, 'METRICS_TOKEN'],
    [{ METRICS_PORT: '0' }, 'METRICS_PORT'],
    [{ METRICS_PORT: '3000' }, 'METRICS_PORT'],
    [{ SHUTDOWN_DRAIN_DELAY_MS: '5s' }, 'SHUTDOWN_DRAIN_DELAY_MS'],
    [{ READINESS_TIMEOUT_MS: '0' }, 'READINESS_TIMEOUT_MS'],
    [{ ADMIN_TOKEN: 'a'.repeat(31) }, 'ADMIN_TOKEN'],
    [{ ADMIN_TOKEN: `${'a'.repeat(32)} b` }, 'ADMIN_TOKEN'],
    [
      { REFRESH_IDLE_TTL_SECONDS: '7200', REFRESH_ABSOLUTE_TTL_SECONDS: '3600' },
      'REFRESH_IDLE_TTL_SECONDS',
    ],
  ];
  for (const [env, variable] of badValues) {
    test(`when ${JSON.stringify(env)}, throws a ConfigError naming ${variable}`, () => {
      assertRefused(env, variable);
    });
  }

  test('when the idle refresh TTL equals the absolute TTL, it is accepted', () => {
    const config = parseConfig({
      REFRESH_IDLE_TTL_SECONDS: '3600',
      REFRESH_ABSOLUTE_TTL_SECONDS: '3600',
    });
    assert.equal(config.refreshIdleTtlSeconds, 3600);
  });

  test('in production without TOKEN_SIGNING_KEY, throws a ConfigError naming it', () => {
    assertRefused({ NODE_ENV: 'production' }, 'TOKEN_SIGNING_KEY');
  });

  test('a signing key shorter than 32 bytes is refused, one of exactly 32 bytes accepted', () => {
    assertRefused(
      { TOKEN_SIGNING_KEY: 'k'.repeat(MIN_SIGNING_KEY_BYTES - 1) },
      'TOKEN_SIGNING_KEY',
    );
    assert.equal(parseConfig({ TOKEN_SIGNING_KEY: KEY }).tokenSigningKey, KEY);
  });

  test('ADMIN_TOKEN of 32 characters is taken, and a refused one is never echoed', () => {
    const token = 'A1b2-C3d4.E5f6_G7h8~I9j0+K1l2/M3n=';
    assert.equal(parseConfig({ ADMIN_TOKEN: token }).adminToken, token);
    const short = 'secret-but-too-short';
    assert.throws(
      () => parseConfig({ ADMIN_TOKEN: short }),
      (error: Error) => error instanceof ConfigError && !error.message.includes(short),
    );
  });

  test('METRICS_TOKEN of 32 characters is taken, and a refused one is never echoed', () => {
    const token = 'f'.repeat(64);
    assert.equal(parseConfig({ METRICS_TOKEN: token }).metricsToken, token);
    const short = 'scrape-secret-too-short';
    assert.throws(
      () => parseConfig({ METRICS_TOKEN: short }),
      (error: Error) => error instanceof ConfigError && !error.message.includes(short),
    );
  });

  test('the metrics servers bind METRICS_HOST, else HOST; METRICS_PORT is a port of its own', () => {
    assert.equal(parseConfig({ HOST: '10.0.0.5' }).metricsHost, '10.0.0.5');
    const config = parseConfig({
      HOST: '0.0.0.0',
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: '9464',
    });
    assert.equal(config.metricsHost, '127.0.0.1');
    assert.equal(config.metricsPort, 9464);
  });

  test('production drains for 5 s after SIGTERM by default; development and test do not wait', () => {
    const production = { NODE_ENV: 'production', TOKEN_SIGNING_KEY: KEY };
    assert.equal(parseConfig(production).shutdownDrainDelayMs, 5000);
    assert.equal(parseConfig({ NODE_ENV: 'test' }).shutdownDrainDelayMs, 0);
    assert.equal(
      parseConfig({ ...production, SHUTDOWN_DRAIN_DELAY_MS: '15000' }).shutdownDrainDelayMs,
      15_000,
    );
  });

  test('HOST defaults to loopback in development and to every interface in production', () => {
    assert.equal(parseConfig({ NODE_ENV: 'development' }).host, '127.0.0.1');
    assert.equal(parseConfig({ NODE_ENV: 'production', TOKEN_SIGNING_KEY: KEY }).host, '0.0.0.0');
  });

  test('tracing is off unless an OTLP endpoint or OTEL_TRACES_EXPORTER=otlp asks for it', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    assert.equal(parseConfig({}).observability.tracing, undefined);
    assert.deepEqual(parseConfig(endpoint).observability.tracing, {
      serviceName: 'tasklane',
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
      scheduleDelayMs: 5000,
    });
    assert.ok(parseConfig({ OTEL_TRACES_EXPORTER: 'otlp' }).observability.tracing);
    assert.equal(
      parseConfig({ ...endpoint, OTEL_SDK_DISABLED: 'true' }).observability.tracing,
      undefined,
    );
    assert.equal(
      parseConfig({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' }).observability.tracing,
      undefined,
    );
    const sampled = parseConfig({
      ...endpoint,
      OTEL_SERVICE_NAME: 'api-eu',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    }).observability.tracing;
    assert.equal(sampled?.serviceName, 'api-eu');
    assert.equal(sampled?.samplerRatio, 0.25);
  });

  for (const [variable, value] of [
    ['OTEL_TRACES_EXPORTER', 'zipkin'],
    ['OTEL_TRACES_SAMPLER', 'sometimes'],
    ['OTEL_TRACES_SAMPLER_ARG', '1.5'],
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318'],
  ] as const) {
    test(`tracing refuses ${variable}=${value} with a line naming it`, () => {
      assertRefused(
        { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', [variable]: value },
        variable,
      );
    });
  }

  test('the result is frozen: assigning a setting throws', () => {
    const config = parseConfig({});
    assert.ok(Object.isFrozen(config));
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
    assert.equal(config.port, 3000);
  });
});

describe('loadSigningSecret', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tasklane-secrets-'));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  const freshDataDir = () => path.join(dir, randomBytes(4).toString('hex'));

  test('when no key is configured, generates one into DATA_DIR/secrets.json readable only by its owner', async () => {
    const dataDir = freshDataDir();
    const config = parseConfig({ DATA_DIR: dataDir });
    const secret = loadSigningSecret(config);
    assert.ok(Buffer.byteLength(secret) >= MIN_SIGNING_KEY_BYTES);
    const file = path.join(dataDir, 'secrets.json');
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(await fs.readFile(file, 'utf8')), { token_signing_key: secret });
  });

  test('the next call returns the same generated key (sessions survive a restart)', () => {
    const config = parseConfig({ DATA_DIR: freshDataDir() });
    const first = loadSigningSecret(config);
    assert.equal(loadSigningSecret(config), first);
    assert.equal(loadSigningSecret(parseConfig({ DATA_DIR: config.dataDir })), first);
  });

  test('two data directories get different keys', () => {
    const a = loadSigningSecret(parseConfig({ DATA_DIR: freshDataDir() }));
    const b = loadSigningSecret(parseConfig({ DATA_DIR: freshDataDir() }));
    assert.notEqual(a, b);
  });

  test('a configured TOKEN_SIGNING_KEY wins over the stored key and writes nothing', async () => {
    const dataDir = freshDataDir();
    const generated = loadSigningSecret(parseConfig({ DATA_DIR: dataDir }));
    assert.equal(
      loadSigningSecret(parseConfig({ DATA_DIR: dataDir, TOKEN_SIGNING_KEY: KEY })),
      KEY,
    );
    assert.notEqual(generated, KEY);

    const untouched = freshDataDir();
    assert.equal(
      loadSigningSecret(parseConfig({ DATA_DIR: untouched, TOKEN_SIGNING_KEY: KEY })),
      KEY,
    );
    await assert.rejects(fs.stat(untouched), { code: 'ENOENT' });
  });

  for (const [content, what] of [
    ['{not json', 'is not JSON'],
    ['{"token_signing_key":"short"}', 'holds a key shorter than 32 bytes'],
    ['{}', 'holds no key'],
  ] as const) {
    test(`when secrets.json ${what}, throws an error naming the file instead of replacing it`, async () => {
      const dataDir = freshDataDir();
      await fs.mkdir(dataDir);
      const file = path.join(dataDir, 'secrets.json');
      await fs.writeFile(file, content, { mode: 0o600 });
      assert.throws(() => loadSigningSecret(parseConfig({ DATA_DIR: dataDir })), {
        message: new RegExp(`${file.replaceAll('.', '\\.')} is unreadable`),
      });
      assert.equal(await fs.readFile(file, 'utf8'), content);
    });
  }
});
