// Command-line plumbing shared by the bench commands.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { say } from './database.ts';

/** A bad command line: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/** parseArgs, with its complaints (unknown option, missing value) as usage errors. */
export function parseCommandLine<T extends ParseArgsConfig>(
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** Prints `usage` and exits 0 when the command line asked for `--help`. */
export function exitOnHelp(values: { help?: boolean | undefined }, usage: string): void {
  if (!values.help) return;
  process.stdout.write(usage);
  process.exit(0);
}

export function wholeNumber(
  name: string,
  raw: string | undefined,
  min: number,
  max: number,
): number {
  if (raw === undefined || !/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  }
  return Number(raw);
}

/** Runs a command's main and turns what it throws into a message and an exit code. */
export async function runCommand(
  usage: string,
  main: () => Promise<number | undefined>,
): Promise<void> {
  try {
    process.exitCode = (await main()) ?? 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${usage}`);
      process.exitCode = 2;
    } else {
      say(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exitCode = 1;
    }
  }
}
