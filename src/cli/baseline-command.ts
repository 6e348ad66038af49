import type { Config } from '../config';
import type { Logger } from '../log/logger';
import { PreflightError } from '../job/errors';

/** preflight baseline: placeholder until the command lands. */
export async function baselineCommand(_config: Config, _log: Logger, _signal: AbortSignal, _flags: Record<string, string | boolean | undefined>): Promise<number> {
  throw new PreflightError('internal', 'preflight baseline is being built');
}
