import { parseArgs } from 'node:util';
import { closestName } from '../config/job-options';
import { PreflightError } from '../core/errors';
import { commands, isCommand, type CommandName, type CommandSpec } from './commands';

export type ParsedArgs =
  | { kind: 'help'; command?: CommandName }
  | { kind: 'version' }
  | {
      kind: 'command';
      command: CommandName;
      flags: Record<string, string | boolean | undefined>;
      positionals: string[];
    };

/** Parses argv (without node and script); bad usage throws a usage error naming the culprit. */
export function parseArguments(argv: string[]): ParsedArgs {
  const [first, ...rest] = argv;
  if (first === undefined) return { kind: 'command', command: 'run', flags: {}, positionals: [] };
  if (first === '--help' || first === '-h' || first === 'help') {
    if (rest[0] !== undefined && isCommand(rest[0])) return { kind: 'help', command: rest[0] };
    return { kind: 'help' };
  }
  if (first === '--version' || first === '-v') return { kind: 'version' };
  if (!isCommand(first)) {
    const hint = first.startsWith('-') ? `unknown option ${first}` : `unknown command "${first}"`;
    throw new PreflightError(
      'usage',
      `${hint}: expected one of ${Object.keys(commands).join(', ')} (see preflight --help)`,
    );
  }
  const spec: CommandSpec = commands[first];
  const options = { help: { type: 'boolean' as const, short: 'h' }, ...spec.options };
  try {
    const { values, positionals } = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
    if (values.help) return { kind: 'help', command: first };
    const { min, max } = spec.positionals ?? { min: 0, max: 0 };
    if (positionals.length > max) {
      throw new PreflightError(
        'usage',
        `preflight ${first}: unexpected argument "${positionals[max]}" (usage: ${spec.usage})`,
      );
    }
    if (positionals.length < min) {
      throw new PreflightError('usage', `preflight ${first}: missing argument (usage: ${spec.usage})`);
    }
    return { kind: 'command', command: first, flags: values, positionals };
  } catch (error) {
    if (error instanceof PreflightError) throw error;
    throw new PreflightError(
      'usage',
      `preflight ${first}: ${usageProblem(error, spec)} (see preflight ${first} --help)`,
    );
  }
}

/** Node's parseArgs error in preflight's words: the option, what is wrong with it, what would be right. */
function usageProblem(error: unknown, spec: CommandSpec): string {
  const code = (error as NodeJS.ErrnoException).code;
  const option = /'(-{1,2}[^' <]+)/.exec((error as Error).message)?.[1] ?? 'an option';
  const known = Object.keys(spec.options).map((name) => `--${name}`);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const closest = closestName(option, known);
    if (closest) return `unknown option ${option}: did you mean ${closest}?`;
    return `unknown option ${option}: ${known.length > 0 ? `its options are ${known.join(', ')}` : 'it takes no options'}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const type = spec.options[option.replace(/^-+/, '')]?.type;
    return type === 'boolean' ? `${option} takes no value` : `${option} needs a value (usage: ${spec.usage})`;
  }
  return `cannot read the arguments (usage: ${spec.usage})`;
}
