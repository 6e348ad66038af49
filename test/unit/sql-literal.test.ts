import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from 'pg';
import { sqlLiteral } from '../../src/postgres/sql-literal';
import { freshDatabase } from '../support/context';

const awkward = [
  '',
  "it's",
  "''",
  'back\\slash',
  "\\'",
  "'; DROP TABLE x; --",
  '$1 $$ $tag$',
  'new\nline\ttab',
  'snow ☃ and 𝄞',
  '"double"',
  "E'x'",
];

test('sqlLiteral: strings quoted, safe integers plain, negatives parenthesised, NULL and booleans', () => {
  assert.equal(sqlLiteral("it's"), "'it''s'");
  assert.equal(sqlLiteral('a\\b'), "E'a\\\\b'");
  assert.equal(sqlLiteral(1_800_000_001_000), '1800000001000');
  assert.equal(sqlLiteral(-5), '(-5)');
  assert.equal(sqlLiteral(0), '0');
  assert.equal(sqlLiteral(null), 'NULL');
  assert.equal(sqlLiteral(true), 'true');
  assert.equal(sqlLiteral(false), 'false');
});

test('sqlLiteral refuses what it cannot write exactly: fractions, unsafe integers, NaN, NUL, other types', () => {
  for (const value of [1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN, Infinity])
    assert.throws(() => sqlLiteral(value), TypeError, String(value));
  assert.throws(() => sqlLiteral('a\0b'), TypeError);
  assert.throws(() => sqlLiteral({} as unknown as string), TypeError);
  assert.throws(() => sqlLiteral(undefined as unknown as string), TypeError);
});

test('sqlLiteral: PostgreSQL reads back every awkward string exactly, whatever standard_conforming_strings says', async () => {
  const db = await freshDatabase();
  const client = new Client({ connectionString: db.url });
  await client.connect();
  try {
    for (const conforming of ['on', 'off']) {
      await client.query(`SET standard_conforming_strings = ${conforming}`);
      for (const value of awkward) {
        // several statements in one simple query, as the executor sends them
        const results = (await client.query(
          `SELECT 1; SELECT ${sqlLiteral(value)}::text AS v, ${sqlLiteral(-7)} - ${sqlLiteral(-7)} AS zero`,
        )) as unknown as Array<{ rows: Array<{ v: string; zero: number }> }>;
        assert.deepEqual(results[1].rows, [{ v: value, zero: 0 }], `${JSON.stringify(value)} (${conforming})`);
      }
    }
  } finally {
    await client.end();
    await db.close();
  }
});
