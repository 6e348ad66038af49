import type { Status } from '../job/status';

/** `preflight status` for a person: one row per migration (name, state, applied at, duration), then the verdict. */
export function formatStatus(status: Status): string {
  const rows = [
    ['migration', 'state', 'applied at', 'duration'],
    ...status.migrations.map((row) => [
      row.name,
      row.state,
      row.appliedAt === null ? '-' : row.appliedAt.replace(/\.\d{3}Z$/, 'Z'),
      row.durationMs === null ? '-' : `${row.durationMs} ms`,
    ]),
  ];
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column].length)));
  const lines = rows.map((row) =>
    [row[0].padEnd(widths[0]), row[1].padEnd(widths[1]), row[2].padEnd(widths[2]), row[3]].join('  ').trimEnd(),
  );
  const verdict =
    status.state === 'up-to-date'
      ? `${status.database} is up to date`
      : status.state === 'pending'
        ? `${status.database}: ${status.pending.length} pending (preflight run applies them)`
        : `${status.database} is inconsistent: ${status.problem ?? 'see above'}`;
  return [...(status.migrations.length > 0 ? lines : ['no migrations']), '', verdict].join('\n');
}
