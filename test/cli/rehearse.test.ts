import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { findPgTool, runPgTool } from '../../src/postgres/pg-tools';
import {
  freshDatabase,
  preflightEnv,
  runCli,
  spawnCli,
  tempDir,
  testStack,
  type TestDatabase,
} from '../support/context';
import { failureLines, migrationsDir, recordedMigrations } from './helpers';

const first = {
  First1800000000001: {
    up: `await queryRunner.query('CREATE TABLE first (id int)'); await queryRunner.query('INSERT INTO first SELECT generate_series(1, 1000)');`,
  },
};
const withNote = {
  ...first,
  AddNote1800000000002: {
    up: `await queryRunner.query('ALTER TABLE first ADD COLUMN note text');`,
    down: `await queryRunner.query('ALTER TABLE first DROP COLUMN note');`,
  },
};

/** A database migrated to First, and a pg_dump of it in `format`. */
async function dumpedDatabase(format: 'custom' | 'plain'): Promise<{ db: TestDatabase; dump: string }> {
  const db = await freshDatabase();
  assert.equal(
    (await runCli(['run'], { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: migrationsDir(first) })).code,
    0,
  );
  const { postgres } = await testStack();
  const dump = path.join(tempDir('preflight-rehearse-'), `source.${format === 'custom' ? 'dump' : 'sql'}`);
  const settings = {
    host: postgres.host,
    port: postgres.port,
    user: postgres.user,
    password: postgres.password,
    database: db.name,
    sslMode: 'disable' as const,
  };
  const pgDump = findPgTool('pg_dump', process.env.PATH);
  assert.ok(pgDump, 'pg_dump not found');
  const result = await runPgTool(
    pgDump,
    [`--format=${format}`, '--file', dump],
    { settings, applicationName: 'preflight-test' },
    { PATH: process.env.PATH },
    new AbortController().signal,
  );
  assert.equal(result.exitCode, 0, result.stderr);
  return { db, dump };
}

async function rehearsalDatabases(db: TestDatabase): Promise<string[]> {
  return (await db.query(`SELECT datname FROM pg_database WHERE datname LIKE 'preflight\\_rehearsal\\_%'`)).map((row) =>
    String(row.datname),
  );
}

function scratchName(lines: Array<Record<string, unknown>>): string | undefined {
  const started = lines.find((line) => line.event === 'rehearse.started');
  return started === undefined ? undefined : String(started.scratchDatabase);
}

test('rehearse applies the pending migration to a restored copy, reverts and re-applies it, reports its duration and AccessExclusiveLock, and drops the copy', async (t) => {
  const { db, dump } = await dumpedDatabase('custom');
  try {
    const result = await runCli(['rehearse', '--from', dump], {
      ...(await preflightEnv({ db })),
      PREFLIGHT_MIGRATIONS: migrationsDir(withNote),
    });
    assert.equal(result.code, 0, result.stdout);
    assert.match(
      result.stdout,
      /^AddNote1800000000002\s+up\s+\d+ ms\s+AccessExclusiveLock public\.first \(!\)$/m,
      `up row:\n${result.stdout}`,
    );
    // Should the sampler still miss a later phase's commit, it says "(polled)"; the rows must exist.
    for (const phase of ['down', 'up again']) {
      assert.match(
        result.stdout,
        new RegExp(
          `^AddNote1800000000002\\s+${phase}\\s+\\d+ ms\\s+(AccessExclusiveLock public\\.first \\(!\\)|-)( \\(polled\\))?$`,
          'm',
        ),
        `${phase} row:\n${result.stdout}`,
      );
    }
    assert.doesNotMatch(result.stdout, /^First1800000000001/m, 'only pending migrations run');
    assert.doesNotMatch(result.stdout, /ran outside a transaction/, 'every run here is transactional');
    const finished = result.lines.find((line) => line.event === 'rehearse.finished');
    assert.equal(finished?.status, 'ok');
    t.diagnostic(
      `rehearsal: restore ${String(finished?.restoreMs)} ms, total ${String(finished?.durationMs)} ms; ${JSON.stringify(finished?.migrations)}`,
    );

    const scratch = scratchName(result.lines);
    assert.match(String(scratch), /^preflight_rehearsal_[0-9a-f]{12}$/);
    assert.deepEqual(await rehearsalDatabases(db), [], 'the scratch database is dropped');
    assert.deepEqual(await recordedMigrations(db), ['First1800000000001'], 'the source database is untouched');
    assert.deepEqual(
      await db.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'first' ORDER BY 1`),
      [{ column_name: 'id' }],
    );
  } finally {
    await db.close();
  }
});

test('a plain SQL dump is restored with psql and rehearsed the same way', async () => {
  const { db, dump } = await dumpedDatabase('plain');
  try {
    const result = await runCli(['rehearse', '--from', dump], {
      ...(await preflightEnv({ db })),
      PREFLIGHT_MIGRATIONS: migrationsDir(withNote),
    });
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /^AddNote1800000000002\s+up\s+\d+ ms\s+AccessExclusiveLock public\.first/m);
    assert.match(result.stdout, /^AddNote1800000000002\s+up again\s+\d+ ms/m);
    assert.doesNotMatch(result.stdout, /ran outside a transaction/);
    assert.deepEqual(await rehearsalDatabases(db), []);
  } finally {
    await db.close();
  }
});

test('a migration that fails on the copy exits 70 naming it, and the copy is dropped', async () => {
  const { db, dump } = await dumpedDatabase('custom');
  try {
    const broken = {
      ...first,
      Broken1800000000002: { up: `await queryRunner.query('ALTER TABLE first ADD COLUMN id int');` },
    };
    const result = await runCli(['rehearse', '--from', dump], {
      ...(await preflightEnv({ db })),
      PREFLIGHT_MIGRATIONS: migrationsDir(broken),
    });
    assert.equal(result.code, 70, result.stdout);
    assert.match(
      String(failureLines(result.lines)[0].message),
      /^rehearsal on a copy of .*source\.dump: migration Broken1800000000002 failed: column "id" of relation "first" already exists/,
    );
    assert.deepEqual(await rehearsalDatabases(db), []);
    assert.deepEqual(await recordedMigrations(db), ['First1800000000001']);
  } finally {
    await db.close();
  }
});

test('a missing dump file is refused with 78 naming it, before any scratch database exists', async () => {
  const db = await freshDatabase();
  try {
    const missing = path.join(tempDir('preflight-rehearse-'), 'nowhere.dump');
    const result = await runCli(['rehearse', '--from', missing], {
      ...(await preflightEnv({ db })),
      PREFLIGHT_MIGRATIONS: migrationsDir(withNote),
    });
    assert.equal(result.code, 78, result.stdout);
    assert.match(
      String(failureLines(result.lines)[0].message),
      new RegExp(`^preflight rehearse --from ${missing}: cannot read the dump \\(ENOENT`),
    );
    assert.equal(scratchName(result.lines), undefined);
    assert.deepEqual(await rehearsalDatabases(db), []);
  } finally {
    await db.close();
  }
});

test('a file that is not a dump is refused with 65 naming it, and no scratch database is left', async () => {
  const db = await freshDatabase();
  try {
    const dir = tempDir('preflight-rehearse-');
    const text = path.join(dir, 'notes.txt');
    fs.writeFileSync(text, 'these are not the droids you are looking for\n');
    const binary = path.join(dir, 'random.bin');
    fs.writeFileSync(binary, Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]));
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: migrationsDir(withNote) };

    const fromText = await runCli(['rehearse', '--from', text], env);
    assert.equal(fromText.code, 65, fromText.stdout);
    assert.match(
      String(failureLines(fromText.lines)[0].message),
      new RegExp(
        `^rehearsal on a copy of ${text}: psql could not restore it into preflight_rehearsal_[0-9a-f]+: .*syntax error`,
      ),
    );
    assert.match(
      String(scratchName(fromText.lines)),
      /^preflight_rehearsal_/,
      'a scratch database was created, then dropped',
    );

    const fromBinary = await runCli(['rehearse', '--from', binary], env);
    assert.equal(fromBinary.code, 65, fromBinary.stdout);
    assert.match(
      String(failureLines(fromBinary.lines)[0].message),
      /random\.bin: neither a pg_dump archive .* nor a SQL file/,
    );
    assert.deepEqual(await rehearsalDatabases(db), []);
  } finally {
    await db.close();
  }
});

test('SIGTERM during a rehearsed migration exits 143 and still drops the scratch database', async () => {
  const { db, dump } = await dumpedDatabase('custom');
  try {
    const slow = {
      ...first,
      Slow1800000000002: {
        up: `await queryRunner.query('ALTER TABLE first ADD COLUMN note text'); await queryRunner.query('SELECT pg_sleep(30)');`,
      },
    };
    let killedAt = 0;
    const { result } = spawnCli(
      ['rehearse', '--from', dump],
      { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: migrationsDir(slow) },
      {
        onSpawn: (child) => {
          child.stdout?.on('data', (chunk: Buffer) => {
            if (!killedAt && chunk.toString().includes('migration.started')) {
              killedAt = Date.now();
              setTimeout(() => child.kill('SIGTERM'), 300);
            }
          });
        },
      },
    );
    const outcome = await result;
    assert.equal(outcome.code, 143, outcome.stdout + outcome.stderr);
    assert.ok(Date.now() - killedAt < 5300, 'stopped within 5 seconds of the signal');
    assert.ok(
      outcome.lines.some((line) => line.event === 'rehearse.dropped'),
      outcome.stdout,
    );
    assert.deepEqual(await rehearsalDatabases(db), []);
  } finally {
    await db.close();
  }
});

test('rehearse without --from is a usage error', async () => {
  const db = await freshDatabase();
  try {
    const result = await runCli(['rehearse'], await preflightEnv({ db }));
    assert.equal(result.code, 2, result.stdout);
    assert.match(String(failureLines(result.lines)[0].message), /--from DUMP/);
  } finally {
    await db.close();
  }
});
