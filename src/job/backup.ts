import type { Config } from '../config';
import type { Logger } from '../log/logger';
import { PreflightError } from './errors';

/** pg_dump of the database into PREFLIGHT_BACKUP_DIR before the first pending migration; returns the file. Placeholder until it lands. */
export async function backupBeforeMigrating(config: Config, _log: Logger, _signal: AbortSignal): Promise<string> {
  throw new PreflightError('internal', `backups to ${config.backupDir} are being built`);
}
