import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ownerOfKey } from '../../bench/cpu-profile';
import { limitVerdict, mebibyte, mib, ratioVerdict } from '../../bench/stats';
import { targetRows, targetsSummary } from '../../bench/targets';

test('a ratio target is met at or under its limit, and a miss says by how much', () => {
  assert.equal(ratioVerdict(120, 100, 1.2), 'met (1.20× ≤ 1.2×)');
  assert.equal(ratioVerdict(110, 100, 1.2), 'met (1.10× ≤ 1.2×)');
  assert.equal(ratioVerdict(438, 150, 1.2), '**not met**: 2.92× vs ≤ 1.2×, 143% over the limit (258 ms too much)');
  // 0.8× a peer: faster than the peer is not enough.
  assert.equal(ratioVerdict(1958, 1630, 0.8), '**not met**: 1.20× vs ≤ 0.8×, 50% over the limit (654 ms too much)');
  assert.equal(ratioVerdict(1000, 1630, 0.8), 'met (0.61× ≤ 0.8×)');
  // A near miss says how near.
  assert.equal(ratioVerdict(2019, 1827, 1.1), '**not met**: 1.11× vs ≤ 1.1×, 0.5% over the limit (9 ms too much)');
});

test('a ratio target with a side missing is not measured, never met', () => {
  assert.equal(ratioVerdict(Number.NaN, 100, 1.2), 'not measured');
  assert.equal(ratioVerdict(100, Number.NaN, 1.2), 'not measured');
  assert.equal(ratioVerdict(100, 0, 1.2), 'not measured');
});

test('an absolute target is met at or under its limit, and a miss says by how much', () => {
  assert.equal(limitVerdict(3.5 * mebibyte, 40 * mebibyte, mib), 'met (3.5 MiB ≤ 40.0 MiB)');
  assert.equal(
    limitVerdict(57.3 * mebibyte, 40 * mebibyte, mib),
    '**not met**: 57.3 MiB vs ≤ 40.0 MiB, 43% over the limit (17.3 MiB too much)',
  );
  assert.equal(limitVerdict(Number.NaN, 40 * mebibyte, mib), 'not measured');
});

test('with no scenario run, every target is listed as not measured', () => {
  const rows = targetRows({ failures: [], totalMs: 0, loadAverage: [0] });
  assert.equal(rows.length, 8);
  assert.ok(rows.every((row) => row.verdict === 'not measured'));
  assert.equal(targetsSummary(rows), '0 of 8 targets met, 8 not measured in this run.');
});

test("the bundle's module keys name their package", () => {
  assert.equal(ownerOfKey('node_modules/pg/lib/client.js'), 'pg');
  assert.equal(ownerOfKey('node_modules/@grpc/grpc-js/build/src/index.js'), '@grpc/grpc-js');
  assert.equal(ownerOfKey('node_modules/typeorm/node_modules/yargs/index.cjs'), 'yargs');
  assert.equal(ownerOfKey('dist/src/job/steps/migrate.js'), 'preflight src/job');
});
