/** The CLI's commands, their options and help texts, in one table. */
export interface CommandSpec {
  summary: string;
  usage: string;
  options: Record<string, { type: 'boolean' | 'string'; description: string }>;
}

export const commands = {
  run: {
    summary: 'the whole job: wait, lock, migrate, etcd fixtures, Redis checks, report (default)',
    usage: 'preflight run',
    options: {},
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
    'Exit codes: 0 ok, 2 usage, 3 pending, 65 data, 69 unavailable, 70 failed, 75 lock/timeout, 78 config, 130/143 interrupted.',
    "Run 'preflight <command> --help' for a command's options.",
  ].join('\n');
}

export function commandHelp(name: CommandName): string {
  const spec: CommandSpec = commands[name];
  const options = Object.entries(spec.options).map(([option, { description }]) => `  --${option.padEnd(10)} ${description}`);
  return [`Usage: ${spec.usage}`, '', spec.summary, '', 'Options:', ...options, `  --${'help'.padEnd(10)} show this help`].join('\n');
}
