/** The CLI's commands, their options and help texts, in one table. */
export interface CommandSpec {
  summary: string;
  usage: string;
  options: Record<string, { type: 'boolean' | 'string'; description: string }>;
  /** how many positional arguments the command takes */
  positionals?: { min: number; max: number };
  /** false for commands that touch no store and need no configuration */
  needsConfig?: boolean;
}

export const commands = {
  run: {
    summary: 'the whole job: wait, lock, migrate, etcd fixtures, Redis checks, report (default)',
    usage: 'preflight run [--dry-run]',
    options: {
      'dry-run': {
        type: 'boolean',
        description:
          'print the migration plan and the fixture changes, write nothing (exit 0 nothing to do, 3 work pending)',
      },
    },
  },
  wait: {
    summary: 'only wait until PostgreSQL (and etcd, Redis when configured) are reachable',
    usage: 'preflight wait',
    options: {},
  },
  status: {
    summary: 'show applied, pending and unknown migrations; exit 0 up to date, 3 pending, 65 inconsistent',
    usage: 'preflight status [--json]',
    options: { json: { type: 'boolean', description: 'print the status as JSON on stdout' } },
  },
  verify: {
    summary: 'is the database at the head of this build? exit 0 yes, 3 work pending, 65 inconsistent',
    usage: 'preflight verify',
    options: {},
  },
  down: {
    summary: 'revert the last N applied migrations (default 1), or every one applied after NAME, under the job lock',
    usage: 'preflight down [N | --to NAME] [--yes]',
    options: {
      to: { type: 'string', description: 'revert every migration applied after NAME (NAME stays applied)' },
      yes: { type: 'boolean', description: 'revert without asking (needed when stdin is not a terminal)' },
    },
    positionals: { min: 0, max: 1 },
  },
  'clear-history': {
    summary:
      'delete terminated kernels and sessions older than the retention, in batches, and their Redis keys (for a daily cron job)',
    usage: 'preflight clear-history --retention DURATION [--vacuum] [--dry-run]',
    options: {
      retention: {
        type: 'string',
        description:
          'keep what terminated within this long: 30m, 6h, 3d, 2w, 3mo, 1yr (months and years by the calendar)',
      },
      vacuum: { type: 'boolean', description: 'VACUUM ANALYZE the trimmed tables afterwards' },
      'dry-run': { type: 'boolean', description: 'count what would be deleted, delete nothing' },
    },
  },
  rehearse: {
    summary:
      'restore a dump into a scratch database, run the pending migrations (and down/up the newest), report durations and locks, drop it',
    usage: 'preflight rehearse --from DUMP',
    options: { from: { type: 'string', description: 'a pg_dump file (custom or plain format)' } },
  },
  baseline: {
    summary:
      'write the schema snapshot of every migration (applied on a scratch database) for the fresh-database fast path',
    usage: 'preflight baseline [--out FILE]',
    options: { out: { type: 'string', description: 'where to write it (default: migrations/baseline.sql)' } },
  },
  fixtures: {
    summary:
      'etcd fixtures only, no PostgreSQL: diff prints key changes (exit 3 when any, 0 in sync); apply writes them',
    usage: 'preflight fixtures diff|apply',
    options: {},
    positionals: { min: 1, max: 1 },
  },
  create: {
    summary: 'scaffold migrations/<timestamp>-<Name>.ts with a class name TypeORM accepts',
    usage: 'preflight create NAME [--dir DIR]',
    options: { dir: { type: 'string', description: 'where to write it (default: migrations)' } },
    positionals: { min: 1, max: 1 },
    needsConfig: false,
  },
  manifest: {
    summary: 'write preflight-manifest.json (names, timestamps, checksums) for a directory of compiled migrations',
    usage: 'preflight manifest DIR',
    options: {},
    positionals: { min: 1, max: 1 },
    needsConfig: false,
  },
} satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof commands;

export function isCommand(name: string): name is CommandName {
  return Object.hasOwn(commands, name);
}

export function generalHelp(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, spec]) => `  ${name.padEnd(width)}  ${spec.summary}`);
  return [
    'Usage: preflight [command] [options]',
    '',
    'Prepares PostgreSQL, etcd and Redis before the platform starts, then exits.',
    '',
    'Commands:',
    ...lines,
    '',
    'Configuration comes from the environment (and .env); see the README for every variable.',
    'Exit codes: 0 ok, 1 bug, 2 usage, 3 pending, 65 data, 69 unavailable, 70 failed, 75 lock/timeout, 77 no permission, 78 config, 130/143 interrupted.',
    "Run 'preflight <command> --help' for a command's options.",
  ].join('\n');
}

export function commandHelp(name: CommandName): string {
  const spec: CommandSpec = commands[name];
  const options = Object.entries(spec.options).map(
    ([option, { description }]) => `  --${option.padEnd(10)} ${description}`,
  );
  return [
    `Usage: ${spec.usage}`,
    '',
    spec.summary,
    '',
    'Options:',
    ...options,
    `  --${'help'.padEnd(10)} show this help`,
  ].join('\n');
}
