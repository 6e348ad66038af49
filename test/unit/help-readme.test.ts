import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { commands, generalHelp } from '../../src/cli/commands';
import { exitCodes } from '../../src/core/errors';

const readme = fs.readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');

/** The rows of the first table after `heading`, as arrays of cells. */
function tableAfter(heading: string): string[][] {
  const start = readme.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README has no "${heading}" section`);
  const lines = readme.slice(start).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    // A `\|` inside a cell is a literal bar, not a column border.
    const cells = line.split(/(?<!\\)\|/).slice(1, -1);
    rows.push(cells.map((cell) => cell.replace(/\\\|/g, '|').trim()));
  }
  return rows;
}

const commandRows = tableAfter('## Commands')
  .map((row) => ({ usage: row[0], name: /^`preflight ([a-z-]+)/.exec(row[0])?.[1] }))
  .filter((row): row is { usage: string; name: string } => row.name !== undefined && !row.usage.includes('--help'));

test("the README's commands table and --help list the same commands", () => {
  const documented = new Set(commandRows.map((row) => row.name));
  assert.deepEqual([...documented].sort(), Object.keys(commands).sort());
  for (const name of Object.keys(commands)) assert.match(generalHelp(), new RegExp(`^  ${name} `, 'm'));
});

test("every command's options in --help appear in its README row, and the README names no option --help lacks", () => {
  for (const [name, spec] of Object.entries(commands)) {
    const rows = commandRows.filter((row) => row.name === name);
    const documented = new Set(
      rows.flatMap((row) => [...row.usage.matchAll(/--([a-z][a-z-]*)/g)].map((match) => match[1])),
    );
    assert.deepEqual([...documented].sort(), Object.keys(spec.options).sort(), `options of preflight ${name}`);
  }
});

test("the README's exit codes table, --help's exit code line and the code's exit codes agree", () => {
  const documented = tableAfter('## Exit codes').flatMap((row) => row[0].split('/').map((code) => Number(code.trim())));
  const inCode = [...new Set(Object.values(exitCodes))];
  assert.deepEqual(
    [...documented].sort((a, b) => a - b),
    inCode.sort((a, b) => a - b),
  );
  const helpLine = generalHelp()
    .split('\n')
    .find((line) => line.startsWith('Exit codes:'));
  const inHelp = [...String(helpLine).matchAll(/\b(\d+)\b/g)].map((match) => Number(match[1]));
  assert.deepEqual(
    [...new Set(inHelp)].sort((a, b) => a - b),
    inCode.sort((a, b) => a - b),
  );
});
