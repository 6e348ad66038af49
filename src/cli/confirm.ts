import { createInterface } from 'node:readline/promises';
import { PreflightError } from '../core/errors';

/**
 * How `preflight down` asks before reverting: not at all with --yes; on a terminal, a y/N question
 * naming what would be reverted; with no terminal to ask on, a usage error (2) before anything runs.
 */
export function downConfirmation(yes: boolean, database: string): ((names: string[]) => Promise<boolean>) | undefined {
  if (yes) return undefined;
  if (!process.stdin.isTTY) {
    throw new PreflightError(
      'usage',
      'preflight down: stdin is not a terminal, so it cannot ask before reverting: pass --yes to revert without asking',
    );
  }
  return async (names) => {
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const answer = await prompt.question(`Revert ${names.join(', ')} on ${database}? This runs their down(). [y/N] `);
      return /^y(es)?$/i.test(answer.trim());
    } finally {
      prompt.close();
    }
  };
}
