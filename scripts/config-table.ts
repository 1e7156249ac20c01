// Prints the README's configuration table from the `settings` list in src/config-settings.ts:
//   node scripts/config-table.ts
// Paste the output between the config-table markers in README.md. Columns are
// padded the way Biome formats Markdown tables, so `npm run lint` stays clean.
import { settings } from '../src/config-settings.ts';

// A `|` inside a cell would end the cell early.
const cell = (text: string) => text.replaceAll('|', '\\|');

/** The markdown table of every setting, as it stands in README.md. */
export function configTable(): string {
  const header = ['Variable', 'What it does', 'Default'];
  const body = settings.map((setting) => [
    `\`${setting.name}\``,
    cell(setting.description),
    cell(setting.default),
  ]);
  const widths = header.map((_, column) =>
    Math.max(...[header, ...body].map((row) => row[column]!.length)),
  );
  const separator = widths.map((width) => '-'.repeat(width));
  const line = (row: string[]) =>
    `| ${row.map((text, column) => text.padEnd(widths[column]!)).join(' | ')} |`;

  return [header, separator, ...body].map(line).join('\n');
}

if (import.meta.main) process.stdout.write(`${configTable()}\n`);
