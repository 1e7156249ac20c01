// What test/ops.test.ts reads: the files of ops/, the metric names in PromQL, and promtool.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const OPS = path.join(ROOT, 'ops');
export const RULE_DIR = path.join(OPS, 'prometheus');
export const RUNBOOKS = path.join(OPS, 'runbooks');
export const DASHBOARD = path.join(OPS, 'grafana', 'tasklane.json');

export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface Target {
  expr?: string;
  refId?: string;
  datasource?: { uid?: string };
}
export interface Panel {
  type: string;
  title: string;
  id: number;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  gridPos?: object;
}
export interface Variable {
  name: string;
  type: string;
  query?: string | { query: string };
  definition?: string;
}
export interface Dashboard {
  schemaVersion: number;
  uid: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

export async function filesIn(directory: string, pattern: RegExp): Promise<string[]> {
  const entries = await fs.readdir(directory, { recursive: true });
  return entries.filter((entry) => pattern.test(entry)).map((entry) => path.join(directory, entry));
}

/** The rule files Prometheus loads: ops/prometheus/*.yml, the unit tests' folder aside. */
export async function ruleFiles(): Promise<Map<string, Rule[]>> {
  const files = new Map<string, Rule[]>();
  for (const name of (await fs.readdir(RULE_DIR)).filter((entry) => entry.endsWith('.yml'))) {
    const document = parse(await fs.readFile(path.join(RULE_DIR, name), 'utf8')) as {
      groups: { name: string; rules: Rule[] }[];
    };
    const rules = document.groups.flatMap((group) => group.rules);
    files.set(name, rules);
  }
  return files;
}

export async function allRules(): Promise<Rule[]> {
  return [...(await ruleFiles()).values()].flat();
}

export async function dashboard(): Promise<Dashboard> {
  return JSON.parse(await fs.readFile(DASHBOARD, 'utf8')) as Dashboard;
}

const PROMQL_WORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression reads: identifiers left once label
 * matchers, ranges, strings and grouping clauses are gone, except function
 * calls and keywords. Grafana's label_values(metric, label) reads its first argument.
 */
export function metricNames(expr: string): string[] {
  const labelValues = /label_values\(\s*([a-zA-Z_:][\w:]*)/.exec(expr);
  if (labelValues) return [labelValues[1]!];
  const bare = expr
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/"(?:[^"\\]|\\.)*"/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of bare.matchAll(/(?<![\w.$:])([a-zA-Z_:][\w:]*)(?![\w:]|\s*\()/g)) {
    const name = match[1]!;
    if (!PROMQL_WORDS.has(name.toLowerCase())) names.add(name);
  }
  return [...names];
}

/** `# TYPE name type` of an exposition. */
export function metricTypes(exposition: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    types.set(match[1]!, match[2]!);
  }
  return types;
}

/** Runs a command to its end, `input` on its stdin. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; input?: string } = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? ROOT });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(options.input ?? '');
  });
}

export const promtoolFound = spawnSync('promtool', ['--version']).status === 0;
