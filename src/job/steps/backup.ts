import { chmod, mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config';
import type { Logger } from '../../log/logger';
import { failureReason, findPgTool, runPgTool } from '../../postgres/pg-tools';
import { PreflightError, reasonOf } from '../../core/errors';
import { interrupted } from '../../core/retry';
import type { MigrationPlan } from '../plan';
import type { Step } from './step';

/** PREFLIGHT_BACKUP_DIR: a pg_dump before the first pending migration; nothing when nothing is pending. */
export const backupStep: Step<MigrationPlan, void> = {
  name: 'backup',
  async run({ config, log, signal }, plan) {
    if (!config.backupDir)
      return { status: 'skipped', details: { reason: 'PREFLIGHT_BACKUP_DIR not set' }, value: undefined };
    if (plan.pending.length === 0)
      return { status: 'skipped', details: { reason: 'nothing pending' }, value: undefined };
    const file = await backupBeforeMigrating(config, log, signal);
    return { status: 'applied', details: { file }, value: undefined };
  },
};

/**
 * pg_dump (custom format) of the database into PREFLIGHT_BACKUP_DIR, called after the job lock is
 * taken and before the first pending migration; returns the file, `<database>-<UTC time>.dump`.
 * The dump is written under a `.partial` name and renamed only once complete and on disk, so a
 * file ending in `.dump` is always a whole backup. Any failure throws (70): no migration runs.
 */
async function backupBeforeMigrating(config: Config, log: Logger, signal: AbortSignal): Promise<string> {
  const dir = config.backupDir;
  if (dir === undefined)
    throw new PreflightError('internal', 'backupBeforeMigrating called without PREFLIGHT_BACKUP_DIR');
  const database = config.postgres.database;
  const pgDump = findPgTool('pg_dump', config.environment.PATH);
  if (pgDump === undefined) {
    throw new PreflightError(
      'config',
      "PREFLIGHT_BACKUP_DIR is set but pg_dump was not found: install postgresql-client (the server's major version or newer) or put pg_dump on PATH, or unset PREFLIGHT_BACKUP_DIR",
    );
  }
  const redact = log.redact;
  const failed = (reason: string, cause?: unknown) =>
    new PreflightError(
      'software',
      `backup of database ${database} to ${dir} failed: ${redact(reason)} — no migration was applied`,
      { cause },
    );

  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw failed(`cannot create the directory (${reasonOf(error)})`, error);
  }
  const file = join(dir, `${database.replace(/[^A-Za-z0-9_.-]/g, '_')}-${utcStamp(new Date())}.dump`);
  const partial = `${file}.partial`;
  const started = performance.now();
  log.info({ event: 'backup.started', file, database, pgDump });
  let complete = false;
  let sizeBytes = 0;
  try {
    if (signal.aborted) throw interrupted(signal, 'before the backup');
    // A backup holds every row (password hashes, keys): only its owner may read it, from the first byte on.
    await writeFile(partial, '', { mode: 0o600 });
    await chmod(partial, 0o600);
    const target = { settings: config.postgres, applicationName: `${config.applicationName}/backup` };
    const result = await runPgTool(
      pgDump,
      ['--format=custom', '--no-password', '--file', partial],
      target,
      config.environment,
      signal,
    );
    if (signal.aborted) throw interrupted(signal, 'during the backup (partial file removed)');
    if (result.exitCode !== 0) {
      const mismatch = result.stderr.includes('server version mismatch')
        ? ` (install a pg_dump of the server's major version or newer; this one is ${pgDump})`
        : '';
      throw failed(`${failureReason(result.stderr)}${mismatch}`);
    }
    await syncToDisk(partial);
    sizeBytes = (await stat(partial)).size;
    await rename(partial, file);
    await syncToDisk(dir);
    complete = true;
  } catch (error) {
    throw error instanceof PreflightError ? error : failed(reasonOf(error), error);
  } finally {
    if (!complete) {
      await rm(partial, { force: true }).catch((error: unknown) =>
        log.warn({ event: 'backup.cleanup_failed', file: partial, error: reasonOf(error) }),
      );
    }
  }
  log.info({ event: 'backup.finished', file, sizeBytes, durationMs: Math.round(performance.now() - started) });
  return file;
}

/** `20261125T231500Z`: sorts by time, and is a valid file name everywhere. */
function utcStamp(now: Date): string {
  return now
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** fsync, so a renamed backup survives a crash of the node right after (a directory's entry too). */
async function syncToDisk(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
