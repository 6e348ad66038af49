import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serializeReport, type JobReport } from '../../src/job/report';

test('a report with hundreds of applied migrations still fits in 4 KB', () => {
  const report: JobReport = {
    status: 'ok',
    exitCode: 0,
    preflightVersion: '0.1.0',
    host: 'pod-1',
    database: 'platform',
    startedAt: new Date(0).toISOString(),
    durationMs: 1234,
    lockWaitMs: 2,
    steps: [
      {
        step: 'migrate',
        status: 'applied',
        durationMs: 1000,
        details: {
          applied: Array.from({ length: 500 }, (_, index) => ({
            name: `Migration${1700000000000 + index}`,
            durationMs: 3,
          })),
        },
      },
      { step: 'fixtures', status: 'unchanged', durationMs: 3, details: { files: 2 } },
    ],
  };
  const text = serializeReport(report);
  assert.ok(Buffer.byteLength(text) <= 4096, `${Buffer.byteLength(text)} bytes`);
  const parsed = JSON.parse(text);
  assert.equal(parsed.status, 'ok');
  assert.equal(parsed.truncated, true);
  assert.deepEqual(parsed.steps[1], report.steps[1]);
});
