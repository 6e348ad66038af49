import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

const created: string[] = [];
after(async () => {
  await Promise.all(created.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Writes `files` (name → YAML text) into a fresh temporary directory, removed after the tests. */
export async function fixtureDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'preflight-fixtures-'));
  created.push(dir);
  await Promise.all(Object.entries(files).map(([name, text]) => writeFile(join(dir, name), text)));
  return dir;
}

/** YAML text from lines, so tests can say which line a problem is on. */
export function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}
