import { resolve } from 'node:path';
import type { Config } from '../config';
import type { Logger } from '../log/logger';
import { exitCodes, PreflightError } from '../core/errors';
import { rehearse, type Rehearsal } from '../job/rehearse';

/**
 * preflight rehearse --from DUMP: rehearses the pending migrations on a restored copy, prints one
 * row per migration run (duration, table locks) and exits 0, or with the failing step's code.
 */
export async function rehearseCommand(
  config: Config,
  log: Logger,
  signal: AbortSignal,
  flags: Record<string, string | boolean | undefined>,
): Promise<number> {
  if (typeof flags.from !== 'string' || flags.from === '') {
    throw new PreflightError(
      'usage',
      'preflight rehearse --from DUMP: name the pg_dump file to rehearse on (pg_dump --format=custom, or plain SQL)',
    );
  }
  const started = performance.now();
  const rehearsal = await rehearse(config, log, signal, resolve(flags.from));
  process.stdout.write(`${formatRehearsal(rehearsal)}\n`);
  log.info({
    event: 'rehearse.finished',
    status: rehearsal.error === undefined ? 'ok' : 'failed',
    dump: rehearsal.dump,
    scratchDatabase: rehearsal.scratchDatabase,
    restoreMs: rehearsal.restoreMs,
    durationMs: Math.round(performance.now() - started),
    migrations: rehearsal.migrations.map(({ name, phase, durationMs, locks, locksComplete, transaction }) => ({
      name,
      phase,
      durationMs,
      locks: locks.map((lock) => `${lock.mode} ${lock.relation}`),
      locksComplete,
      transaction,
    })),
  });
  if (rehearsal.error === undefined) return exitCodes.ok;
  const { error } = rehearsal;
  if (!(error instanceof PreflightError)) throw error;
  throw new PreflightError(error.kind, `rehearsal on a copy of ${rehearsal.dump}: ${error.message}`, {
    cause: error.cause,
    details: error.details,
  });
}

const exclusive = 'AccessExclusiveLock';

/** The table a person reads: migration, phase, duration, locks; AccessExclusiveLock flagged. */
function formatRehearsal(rehearsal: Rehearsal): string {
  const header = `rehearsal of ${rehearsal.dump} in scratch database ${rehearsal.scratchDatabase} (restored in ${rehearsal.restoreMs} ms, dropped)`;
  if (rehearsal.migrations.length === 0) {
    return `${header}\n${rehearsal.error === undefined ? 'nothing pending: the dump is at the head of this build' : 'no migration completed'}`;
  }
  const rows = [
    ['migration', 'phase', 'duration', 'locks on existing tables'],
    ...rehearsal.migrations.map((run) => [
      run.name,
      run.phase,
      `${run.durationMs} ms`,
      `${run.locks.length === 0 ? '-' : run.locks.map((lock) => `${lock.mode} ${lock.relation}${lock.mode === exclusive ? ' (!)' : ''}`).join(', ')}${run.locksComplete ? '' : run.transaction ? ' (polled)' : ' (sampled)'}`,
    ]),
  ];
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column].length)));
  const lines = rows.map((row) =>
    [row[0].padEnd(widths[0]), row[1].padEnd(widths[1]), row[2].padStart(widths[2]), row[3]].join('  '),
  );
  const notes = [
    ...(rehearsal.migrations.some((run) => run.locks.some((lock) => lock.mode === exclusive))
      ? [`(!) ${exclusive} blocks every read and write of the table until the migration commits`]
      : []),
    ...(rehearsal.migrations.some((run) => !run.locksComplete && !run.transaction)
      ? [
          '(sampled) ran outside a transaction of its own (transaction = false, PREFLIGHT_TRANSACTION=none or all): locks polled every 2-50 ms, short ones may be missing',
        ]
      : []),
    ...(rehearsal.migrations.some((run) => !run.locksComplete && run.transaction)
      ? [
          '(polled) ran in its own transaction, but committed before the sampler held the migrations table: locks polled every 2-50 ms, short ones may be missing',
        ]
      : []),
  ];
  return [header, ...lines, ...notes].join('\n');
}
