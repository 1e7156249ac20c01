// ops/: the SLOs, the Prometheus rules, the dashboard and the runbooks hold
// together, and read only metrics a real app serves. With promtool on the PATH,
// Prometheus's own checks and the rule unit tests run too.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import {
  classSelector,
  parseSlos,
  RECORDING_RULES_FILE,
  renderRecordingRules,
  renderSloAlerts,
  SLO_ALERTS_FILE,
  SLO_FILE,
} from '../scripts/slo-rules.ts';
import { startWorker } from '../src/jobs/worker.ts';
import { createMetrics } from '../src/observability/metrics.ts';
import { registerPoolMetrics } from '../src/observability/process-metrics.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { createUser } from './helpers/factories.ts';
import {
  allRules,
  dashboard,
  filesIn,
  metricNames,
  metricTypes,
  OPS,
  promtoolFound,
  ROOT,
  RULE_DIR,
  RUNBOOKS,
  ruleFiles,
  run,
} from './helpers/ops-files.ts';

const SECTIONS = ['## What it means', '## First three checks', '## Mitigations'];
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template
const DATASOURCE_UID = '${datasource}';

test('every YAML and JSON file in ops/ parses to a document', async () => {
  const files = await filesIn(OPS, /\.(ya?ml|json)$/);
  assert.ok(files.length >= 8, `found ${files.length} files`);
  for (const file of files) {
    const text = await fs.readFile(file, 'utf8');
    const document: unknown = file.endsWith('.json') ? JSON.parse(text) : parse(text);
    assert.equal(typeof document, 'object', file);
    assert.notEqual(document, null, file);
  }
});

describe('the SLOs', () => {
  test('the generated rule files are what scripts/slo-rules.ts writes from slos.yaml', async () => {
    const slos = parseSlos(await fs.readFile(SLO_FILE, 'utf8'));
    assert.equal(
      await fs.readFile(RECORDING_RULES_FILE, 'utf8'),
      renderRecordingRules(slos),
      'run node scripts/slo-rules.ts',
    );
    assert.equal(
      await fs.readFile(SLO_ALERTS_FILE, 'utf8'),
      renderSloAlerts(slos),
      'run node scripts/slo-rules.ts',
    );
  });

  test('each SLO has an objective and an error ratio over every window its alerts read', async () => {
    const slos = parseSlos(await fs.readFile(SLO_FILE, 'utf8'));
    const recorded = (await allRules()).filter((rule) => rule.record !== undefined);
    for (const slo of slos.slos) {
      const mine = recorded.filter((rule) => rule.labels?.slo === slo.name);
      const objective = mine.find((rule) => rule.record === 'tasklane:slo_objective:ratio');
      assert.equal(objective?.expr, `vector(${slo.objective})`, slo.name);
      for (const burn of slos.burn_rates) {
        for (const window of [burn.long, burn.short]) {
          const ratio = mine.find(
            (rule) => rule.record === `tasklane:slo_errors:ratio_rate${window}`,
          );
          assert.ok(ratio, `${slo.name} has a ${window} error ratio`);
          assert.match(ratio.expr, new RegExp(`\\[${window}\\]`));
        }
      }
    }
  });

  test('a latency threshold off the histogram buckets, or an unknown class, is refused', async () => {
    const text = await fs.readFile(SLO_FILE, 'utf8');
    assert.match(text, /threshold_seconds: 0\.25\n/);
    assert.throws(
      () => parseSlos(text.replace('threshold_seconds: 0.25\n', 'threshold_seconds: 0.3\n')),
      /read-latency: 0\.3 s is not a bucket boundary/,
    );
    assert.throws(
      () => parseSlos(text.replace('class: write\n', 'class: search\n')),
      /write-availability names an unknown class search/,
    );
    assert.throws(
      () => parseSlos(text.replace('objective: 0.999', 'objective: 99.9')),
      /objective/,
    );
  });

  test('every /v1 route of the app is in exactly one class; operational routes and unknown URLs in none', async () => {
    const slos = parseSlos(await fs.readFile(SLO_FILE, 'utf8'));
    // The class's matchers as JavaScript: Prometheus anchors regular expressions at both ends.
    const matches = (name: string, method: string, route: string) => {
      const selector = classSelector(slos, name);
      for (const matcher of selector.slice(1, -1).matchAll(/(\w+)(=~|!~|=)"([^"]*)"/g)) {
        const [, label, op, value] = matcher;
        if (label === 'job') continue;
        const actual = label === 'method' ? method : route;
        const hit = op === '=' ? actual === value : new RegExp(`^(?:${value})$`).test(actual);
        if (hit === (op === '!~')) return false;
      }
      return true;
    };
    const t = await startTestApp();
    try {
      const spec = (await t.app.inject({ url: '/openapi.json' })).json() as {
        paths: Record<string, Record<string, unknown>>;
      };
      const operations = Object.entries(spec.paths).flatMap(([route, methods]) =>
        Object.keys(methods).map((method) => ({
          method: method.toUpperCase(),
          route: route.replace(/\{(\w+)\}/g, ':$1'),
        })),
      );
      assert.ok(operations.some((op) => op.route === '/v1/tasks/:task_id'));
      assert.ok(operations.some((op) => op.route === '/healthz'));
      const others = [
        { method: 'GET', route: '/metrics' },
        { method: 'GET', route: 'unmatched' },
        { method: 'POST', route: 'unmatched' },
        { method: 'OPTIONS', route: '/v1/teams' },
        { method: 'OPTIONS', route: '/v1/auth/login' },
        { method: 'OTHER', route: '/v1/auth/login' },
      ];
      for (const { method, route } of [...operations, ...others]) {
        const classes = Object.keys(slos.classes).filter((name) => matches(name, method, route));
        const inScope = route.startsWith('/v1/') && !['OPTIONS', 'OTHER'].includes(method);
        assert.equal(classes.length, inScope ? 1 : 0, `${method} ${route}: ${classes.join(', ')}`);
      }
      assert.ok(matches('auth', 'POST', '/v1/auth/login'));
      assert.ok(matches('auth', 'POST', '/v1/me/password'));
      assert.ok(matches('write', 'PATCH', '/v1/tasks/:task_id'));
      assert.ok(matches('read', 'GET', '/v1/me'));
    } finally {
      await t.close();
    }
  });
});

describe('alerts and runbooks', () => {
  test('every alert has a severity, a summary, a description and a runbook with the three sections', async () => {
    const alerts = (await allRules()).filter((rule) => rule.alert !== undefined);
    assert.ok(alerts.length >= 10, `${alerts.length} alerts`);
    const names = new Set<string>();
    for (const rule of alerts) {
      const name = rule.alert!;
      assert.ok(!names.has(name), `${name} is defined once`);
      names.add(name);
      assert.ok(['page', 'ticket'].includes(rule.labels?.severity ?? ''), `${name}: severity`);
      for (const annotation of ['summary', 'description', 'runbook_url']) {
        assert.ok(rule.annotations?.[annotation]?.trim(), `${name}: ${annotation}`);
      }
      assert.equal(rule.annotations!.runbook_url, `ops/runbooks/${name}.md`);
      const runbook = await fs.readFile(path.join(ROOT, rule.annotations!.runbook_url!), 'utf8');
      assert.ok(runbook.startsWith(`# ${name}\n`), `${name}: the runbook's title`);
      const at = SECTIONS.map((section) => runbook.indexOf(`\n${section}\n`));
      assert.ok(
        at.every((index, i) => index > 0 && (i === 0 || index > at[i - 1]!)),
        `${name}: the runbook has ${SECTIONS.join(', ')} in that order`,
      );
      const checks = runbook.slice(at[1], at[2]);
      assert.ok((checks.match(/^\d+\. /gm) ?? []).length >= 3, `${name}: three numbered checks`);
      assert.match(runbook.slice(at[2]), /\n- \S/, `${name}: mitigations`);
    }
  });

  test('every runbook belongs to an alert', async () => {
    const alerts = new Set((await allRules()).map((rule) => rule.alert).filter(Boolean));
    const runbooks = await fs.readdir(RUNBOOKS);
    assert.ok(runbooks.length > 0);
    for (const file of runbooks) {
      assert.ok(alerts.has(file.replace(/\.md$/, '')), `${file} has no alert`);
    }
  });

  test('every dashboard panel a runbook names is on the dashboard, and every runbook it links exists', async () => {
    const titles = new Set((await dashboard()).panels.map((panel) => panel.title));
    let named = 0;
    for (const file of await fs.readdir(RUNBOOKS)) {
      const text = await fs.readFile(path.join(RUNBOOKS, file), 'utf8');
      // `panel "A"`, `panels "A", "B" and "C"`, across line breaks.
      for (const list of text.matchAll(/\bpanels?\s+((?:"[^"\n]+"(?:,?\s+(?:and\s+)?)?)+)/gi)) {
        for (const title of list[1]!.matchAll(/"([^"]+)"/g)) {
          assert.ok(titles.has(title[1]!), `${file} names a panel "${title[1]}"`);
          named += 1;
        }
      }
      for (const link of text.matchAll(/\]\(([\w-]+\.md)\)/g)) {
        await fs.access(path.join(RUNBOOKS, link[1]!));
      }
    }
    assert.ok(named >= 20, `${named} panel references`);
  });
});

test('the dashboard: variables for the data source and the route, and every panel has both a data source and queries', async () => {
  const board = await dashboard();
  assert.ok(board.schemaVersion >= 36, `schemaVersion ${board.schemaVersion}`);
  const variables = new Map(board.templating.list.map((variable) => [variable.name, variable]));
  assert.equal(variables.get('datasource')?.type, 'datasource');
  assert.equal(variables.get('datasource')?.query, 'prometheus');
  assert.equal(variables.get('route')?.type, 'query');
  const ids = new Set<number>();
  const titles = new Set<string>();
  for (const panel of board.panels) {
    assert.ok(!ids.has(panel.id), `panel id ${panel.id} is unique`);
    ids.add(panel.id);
    assert.ok(panel.gridPos, `${panel.title}: gridPos`);
    if (panel.type === 'row') continue;
    assert.ok(!titles.has(panel.title), `${panel.title} is one panel`);
    titles.add(panel.title);
    assert.deepEqual(panel.datasource, { type: 'prometheus', uid: DATASOURCE_UID }, panel.title);
    assert.ok(panel.targets && panel.targets.length > 0, `${panel.title}: targets`);
    for (const target of panel.targets) {
      assert.ok(target.expr?.trim(), `${panel.title}: a query`);
      assert.ok(target.refId, `${panel.title}: refId`);
      assert.equal(target.datasource?.uid, DATASOURCE_UID, `${panel.title}: target data source`);
    }
  }
  // The golden signals are all there.
  const queries = board.panels.flatMap((panel) => panel.targets ?? []).map((t) => t.expr ?? '');
  for (const needle of [
    /histogram_quantile\(0\.99, sum by \(le\) \(rate\(http_request_duration_seconds_bucket/,
    /http_requests_total\{[^}]*route=~"\$route"/,
    /http_requests_in_flight/,
    /pg_pool_connections/,
    /db_query_duration_seconds_bucket/,
    /tasklane:slo_errors:ratio_rate1h/,
  ]) {
    assert.ok(
      queries.some((query) => needle.test(query)),
      `a panel queries ${needle}`,
    );
  }
});

test('metric names are read from PromQL without functions, keywords, labels or ranges', () => {
  assert.deepEqual(
    metricNames(
      'histogram_quantile(0.99, sum by (route, le) (rate(http_request_duration_seconds_bucket{job="tasklane",route=~"$route"}[$__rate_interval])))',
    ),
    ['http_request_duration_seconds_bucket'],
  );
  assert.deepEqual(
    metricNames(
      'tasklane:slo_errors:ratio_rate1h{sli="latency"} > on(slo) group_left() (14.4 * (1 - tasklane:slo_objective:ratio)) and on(slo) absent(up offset 5m)',
    ),
    ['tasklane:slo_errors:ratio_rate1h', 'tasklane:slo_objective:ratio', 'up'],
  );
  assert.deepEqual(metricNames('label_values(up{job="tasklane"}, instance)'), ['up']);
});

describe('against a real app', () => {
  let t: TestApp;
  let exposition: string;
  let stopWorker: () => Promise<void>;

  before(async () => {
    const metrics = createMetrics();
    t = await startTestApp({ metrics });
    // As runtime.ts and `serve` do: the pool's gauges, and the in-process worker's series.
    registerPoolMetrics(metrics.registry, t.database.pool);
    const worker = await startWorker({
      pool: t.database.pool,
      db: t.database.db,
      config: t.config,
      log: t.app.log,
      crontab: '',
      metrics,
    });
    stopWorker = () => worker.stop();
    const user = await createUser(t.app);
    await t.app.inject({ url: '/v1/me', headers: user.auth });
    await t.app.inject({ url: '/v1/no-such-thing' });
    await t.app.inject({ url: '/readyz' });
    const response = await t.app.inject({ url: '/metrics' });
    assert.equal(response.statusCode, 200);
    exposition = response.body;
  });
  after(async () => {
    await stopWorker?.();
    await t?.close();
  });

  test('every metric a rule or a dashboard query reads is in the exposition', async () => {
    const types = metricTypes(exposition);
    assert.equal(types.get('http_request_duration_seconds'), 'histogram');
    const recorded = new Set((await allRules()).map((rule) => rule.record).filter(Boolean));
    const board = await dashboard();
    const sources = [
      ...(await allRules()).map((rule) => ({ where: rule.record ?? rule.alert!, expr: rule.expr })),
      ...board.panels.flatMap((panel) =>
        (panel.targets ?? []).map((target) => ({ where: panel.title, expr: target.expr ?? '' })),
      ),
      ...board.templating.list
        .filter((variable) => variable.type === 'query')
        .map((variable) => ({ where: `$${variable.name}`, expr: variable.definition ?? '' })),
    ];
    const missing: string[] = [];
    let checked = 0;
    for (const { where, expr } of sources) {
      for (const name of metricNames(expr)) {
        checked += 1;
        if (name === 'up') continue; // Prometheus's own, per target
        if (name.startsWith('tasklane:')) {
          if (!recorded.has(name)) missing.push(`${where}: ${name} (no recording rule)`);
          continue;
        }
        const base = name.replace(/_(bucket|sum|count)$/, '');
        const known = types.has(name) || (types.get(base) === 'histogram' && base !== name);
        if (!known) missing.push(`${where}: ${name}`);
      }
    }
    assert.ok(checked > 50, `${checked} names checked`);
    assert.deepEqual(missing, [], 'metrics not in the exposition of the app');
  });

  test('promtool: check rules (and the dashboard’s queries), check config, the rule unit tests, and check metrics on the exposition', async (t) => {
    if (!promtoolFound) {
      t.diagnostic(
        'promtool not found on PATH: promtool check rules/config/metrics and the rule unit tests did not run; the parser checks in this file stand in (CI installs Debian’s prometheus package for it)',
      );
      return;
    }
    const version = await run('promtool', ['--version']);
    t.diagnostic(version.output.split('\n')[0]!);

    const files = [...(await ruleFiles()).keys()].map((name) => path.join('ops/prometheus', name));
    // The dashboard's queries, Grafana's variables filled in, as rules: promtool parses their PromQL.
    const board = await dashboard();
    const panelQueries = board.panels.flatMap((panel) =>
      (panel.targets ?? []).map((target, i) => ({
        record: `dashboard:panel_${panel.id}_${i}`,
        expr: (target.expr ?? '')
          .replaceAll('$__rate_interval', '1m')
          .replaceAll('$route', '.*')
          .replaceAll('$instance', '.*'),
      })),
    );
    assert.ok(
      panelQueries.every((rule) => !rule.expr.includes('$')),
      'every variable filled in',
    );
    const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'tasklane-ops-'));
    const dashboardRules = path.join(scratch, 'dashboard-queries.yml');
    await fs.writeFile(
      dashboardRules,
      JSON.stringify({ groups: [{ name: 'dashboard', rules: panelQueries }] }),
    );
    t.after(() => fs.rm(scratch, { recursive: true, force: true }));
    const unitTests = await filesIn(path.join(RULE_DIR, 'tests'), /\.yml$/);
    assert.ok(unitTests.length >= 2);
    // Independent: run together (the unit tests take a few seconds each).
    const [rules, queries, config, metrics, ...units] = await Promise.all([
      run('promtool', ['check', 'rules', '--lint-fatal', ...files]),
      run('promtool', ['check', 'rules', dashboardRules]),
      run('promtool', ['check', 'config', 'prometheus.example.yml'], { cwd: OPS }),
      run('promtool', ['check', 'metrics'], { input: exposition }),
      ...unitTests.map((file) => run('promtool', ['test', 'rules', file])),
    ]);
    assert.equal(rules!.code, 0, rules!.output);
    assert.equal(queries!.code, 0, queries!.output);
    assert.equal(config!.code, 0, config!.output);
    for (const unit of units) assert.equal(unit.code, 0, unit.output);

    // prom-client's default metrics include three gauges named *_total; promtool
    // lints them (exit 3). Those are prom-client's names, not ours: any other
    // finding, or a parse error (exit 1), fails.
    const PROM_CLIENT_GAUGES = new Set([
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]);
    assert.ok(metrics!.code === 0 || metrics!.code === 3, metrics!.output);
    const findings = metrics!.output.split('\n').filter((line) => line.trim() !== '');
    for (const finding of findings) {
      assert.ok(
        PROM_CLIENT_GAUGES.has(finding.split(' ')[0]!),
        `promtool check metrics: ${finding}`,
      );
    }
  });
});
