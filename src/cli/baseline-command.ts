import { resolve } from 'node:path';
import type { Config } from '../config';
import type { Logger } from '../log/logger';
import { writeBaseline } from '../job/baseline';

/** preflight baseline [--out FILE]: writes the schema snapshot for the fresh-database fast path. */
export async function baselineCommand(
  config: Config,
  log: Logger,
  signal: AbortSignal,
  flags: Record<string, string | boolean | undefined>,
): Promise<number> {
  const outFile = resolve(process.cwd(), typeof flags.out === 'string' ? flags.out : 'migrations/baseline.sql');
  const names = await writeBaseline(config, log, signal, outFile);
  process.stdout.write(`wrote ${outFile} covering ${names.length} migrations\n`);
  return 0;
}
