import type { Config } from '../config';
import type { Logger } from '../log/logger';
import { exitCodes, PreflightError } from '../core/errors';
import { repair, type RepairAction } from '../job/repair';

const usage = 'preflight repair NAME --applied | NAME --rolled-back | --accept-checksum (NAME | --all)';

/** `preflight repair ...`: one usage check before any store is touched, then one line per repaired migration. */
export async function repairCommand(
  config: Config,
  log: Logger,
  signal: AbortSignal,
  positionals: string[],
  flags: Record<string, string | boolean | undefined>,
): Promise<number> {
  const action = repairAction(positionals[0], flags);
  const lines = await repair(config, log, signal, action);
  for (const line of lines) process.stdout.write(`${line}\n`);
  log.info({ event: 'repair.finished', action: action.kind, repaired: lines });
  if (lines.length === 0) log.info({ event: 'repair.nothing', message: 'no migration has a drifted checksum' });
  return exitCodes.ok;
}

function repairAction(name: string | undefined, flags: Record<string, string | boolean | undefined>): RepairAction {
  const modes = (['applied', 'rolled-back', 'accept-checksum'] as const).filter((mode) => flags[mode] === true);
  if (modes.length !== 1)
    throw new PreflightError(
      'usage',
      `preflight repair: give exactly one of --applied, --rolled-back, --accept-checksum (usage: ${usage})`,
    );
  const [mode] = modes;
  if (mode === 'accept-checksum') {
    if ((name === undefined) === (flags.all !== true))
      throw new PreflightError(
        'usage',
        `preflight repair --accept-checksum: give either NAME or --all (usage: ${usage})`,
      );
    return { kind: mode, names: name === undefined ? 'all' : [name] };
  }
  if (name === undefined || flags.all === true)
    throw new PreflightError('usage', `preflight repair --${mode}: name the partial migration (usage: ${usage})`);
  return { kind: mode, name };
}
