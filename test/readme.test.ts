import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { test } from 'node:test';
import { configTable } from '../scripts/config-table.ts';

test('the README configuration table lists every setting as src/config.ts defines it', async () => {
  const readme = await fs.readFile(new URL('../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('<!-- config-table:start -->');
  const end = readme.indexOf('<!-- config-table:end -->');
  assert.ok(start >= 0 && end > start, 'README.md lacks the config-table markers');
  const inReadme = readme.slice(start, end).split('\n').slice(1).join('\n').trim();
  assert.equal(inReadme, configTable(), 'regenerate it: node scripts/config-table.ts');
});
