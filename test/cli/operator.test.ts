import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { cliPath, freshDatabase, preflightEnv, runCli, type TestDatabase } from '../support/context';
import { failureLines, migrationsDir, recordedMigrations } from './helpers';

const failureOf = (result: { lines: Array<Record<string, unknown>> }) => String(failureLines(result.lines)[0]?.message);
const twoTables = {
  First1800000000001: {
    up: `await queryRunner.query('CREATE TABLE first (id int)');`,
    down: `await queryRunner.query('DROP TABLE first');`,
  },
  Second1800000000002: {
    up: `await queryRunner.query('CREATE TABLE second (id int)');`,
    down: `await queryRunner.query('DROP TABLE second');`,
  },
};

/** Runs the CLI on a pseudo-terminal (util-linux `script`), answering `answer` once the question appears. */
function onTerminal(
  args: string[],
  env: Record<string, string>,
  answer: string,
): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, cliPath, ...args].map((part) => `'${part.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qefc', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let answered = false;
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    if (!answered && output.includes('[y/N]')) {
      answered = true;
      child.stdin.write(`${answer}\n`);
    }
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

async function appliedTwo(db: TestDatabase): Promise<Record<string, string>> {
  const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: migrationsDir(twoTables) };
  assert.equal((await runCli(['run'], env)).code, 0);
  return env;
}

test('status prints a table of every migration (state, applied at, duration) and the verdict', async () => {
  const db = await freshDatabase();
  try {
    const env = await appliedTwo(db);
    const dir = migrationsDir({ ...twoTables, Third1800000000003: { up: `await queryRunner.query('SELECT 1');` } });
    const result = await runCli(['status'], { ...env, PREFLIGHT_MIGRATIONS: dir });
    assert.equal(result.code, 3, result.stdout);
    assert.match(result.stdout, /^migration\s+state\s+applied at\s+duration$/m);
    assert.match(result.stdout, /^First1800000000001\s+applied\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+\d+ ms$/m);
    assert.match(result.stdout, /^Third1800000000003\s+pending\s+-\s+-$/m);
    assert.match(result.stdout, /: 1 pending \(preflight run applies them\)$/m);
    const older = migrationsDir({ First1800000000001: twoTables.First1800000000001 });
    const unknown = await runCli(['status'], { ...env, PREFLIGHT_MIGRATIONS: older });
    assert.equal(unknown.code, 65);
    assert.match(unknown.stdout, /^Second1800000000002\s+unknown\s+/m);
    assert.match(unknown.stdout, /is inconsistent: the database has applied Second1800000000002/);
  } finally {
    await db.close();
  }
});

test('down asks on a terminal before reverting, refuses without a terminal unless --yes (2), and --yes reverts', async () => {
  const db = await freshDatabase();
  try {
    const env = await appliedTwo(db);
    const refused = await runCli(['down'], env);
    assert.equal(refused.code, 2);
    assert.equal(
      failureOf(refused),
      'preflight down: stdin is not a terminal, so it cannot ask before reverting: pass --yes to revert without asking',
    );
    assert.deepEqual(await recordedMigrations(db), ['First1800000000001', 'Second1800000000002']);

    const declined = await onTerminal(['down'], env, 'n');
    assert.equal(declined.code, 0, declined.output);
    assert.match(declined.output, /Revert Second1800000000002 on \S+\? This runs their down\(\)\. \[y\/N\]/);
    assert.match(declined.output, /down\.cancelled/);
    assert.deepEqual(await recordedMigrations(db), ['First1800000000001', 'Second1800000000002']);

    const accepted = await onTerminal(['down'], env, 'y');
    assert.equal(accepted.code, 0, accepted.output);
    assert.deepEqual(await recordedMigrations(db), ['First1800000000001']);
    assert.equal((await runCli(['down', '--yes'], env)).code, 0);
    assert.deepEqual(await recordedMigrations(db), []);
  } finally {
    await db.close();
  }
});

test("argument errors are in preflight's words, never Node's parser text", async () => {
  const cases: Array<[string[], RegExp]> = [
    [
      ['status', '--jsn'],
      /^preflight status: unknown option --jsn: did you mean --json\? \(see preflight status --help\)$/,
    ],
    [
      ['wait', '--bogus'],
      /^preflight wait: unknown option --bogus: it takes no options \(see preflight wait --help\)$/,
    ],
    [['down', '--to'], /^preflight down: --to needs a value \(usage: preflight down \[N \| --to NAME\] \[--yes\]\)/],
    [['status', '--json=yes'], /^preflight status: --json takes no value/],
  ];
  for (const [args, message] of cases) {
    const result = await runCli(args, { PATH: process.env.PATH ?? '' });
    assert.equal(result.code, 2, args.join(' '));
    assert.match(failureOf(result), message);
    assert.doesNotMatch(result.stdout + result.stderr, /To specify a positional argument|ERR_PARSE_ARGS/);
  }
});

test('a misspelt PREFLIGHT_* variable is 78 with "did you mean", and run says when it writes no report and why', async () => {
  const db = await freshDatabase();
  try {
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: migrationsDir(twoTables) };
    const misspelt = await runCli(['run'], { ...env, PREFLIGHT_MIGRATONS: 'dist/migrations' });
    assert.equal(misspelt.code, 78);
    assert.match(failureOf(misspelt), /PREFLIGHT_MIGRATONS: unknown variable \(did you mean PREFLIGHT_MIGRATIONS\?\)/);
    const none = await runCli(['run'], { ...env, PREFLIGHT_REPORT_FILE: 'none' });
    assert.equal(none.code, 0);
    const notice = none.lines.find((line) => line.event === 'report.none');
    assert.equal(notice?.level, 'info');
    assert.equal(notice?.message, 'no report file written (PREFLIGHT_REPORT_FILE=none)');
    // In a Kubernetes pod the default report file exists: the workstation case only applies elsewhere.
    if (fs.existsSync('/dev/termination-log')) return;
    const workstation = await runCli(['run'], env);
    assert.match(
      String(workstation.lines.find((line) => line.event === 'report.none')?.message),
      /\/dev\/termination-log is not writable here .*set PREFLIGHT_REPORT_FILE=path to write one/,
    );
  } finally {
    await db.close();
  }
});
