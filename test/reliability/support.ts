/**
 * Shared by the reliability tests (test/reliability/*.test.ts): writing migration and fixture
 * files, reading what a run left in each store, and the one-failure-line rule.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CliResult } from '../support/context';

/** The repository root (this file runs as dist/test/reliability/support.js). */
export const repoRoot = path.resolve(__dirname, '../../..');

/** The compiled library entry, for migrations that `require()` dropInvalidIndex. */
export const libraryEntry = path.resolve(__dirname, '../../src/index.js');

/** Writes `files` (relative name → text) into `dir`, creating it; returns `dir`. */
export function writeFiles(dir: string, files: Record<string, string>): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

/** A compiled CommonJS migration as TypeORM loads it: `<timestamp>-<Base>.js` exporting `className`. */
export function migrationSource(className: string, up: string, opts: { transaction?: boolean } = {}): [string, string] {
  const timestamp = className.slice(-13);
  const transaction = opts.transaction === false ? '\n  transaction = false;' : '';
  return [
    `${timestamp}-${className.slice(0, -13)}.js`,
    `exports.${className} = class ${className} {${transaction}
  async up(queryRunner) {
${up}
  }
  async down() {}
};
`,
  ];
}

/** The names of the platform's migrations in this build, from its manifest, in timestamp order. */
export function platformMigrations(): string[] {
  const manifest = JSON.parse(
    fs.readFileSync(path.resolve(__dirname, '../../migrations/preflight-manifest.json'), 'utf8'),
  ) as {
    migrations: Array<{ name: string; timestamp: number }>;
  };
  return [...manifest.migrations].sort((a, b) => a.timestamp - b.timestamp).map((entry) => entry.name);
}

/** The `job.failed` events of a run. */
export function failures(result: Pick<CliResult, 'lines'>): Array<Record<string, unknown>> {
  return result.lines.filter((line) => line.event === 'job.failed');
}

/** The message of the run's one `job.failed` event; fails unless there is exactly one. */
export function onlyFailure(result: Pick<CliResult, 'lines' | 'stdout' | 'stderr'>): string {
  const found = failures(result);
  assert.equal(found.length, 1, `expected exactly one job.failed line:\n${result.stdout}${result.stderr}`);
  return String(found[0].message);
}

/** Milliseconds between the first and last log event, by the job's own clock. */
export function logSpanMs(result: Pick<CliResult, 'lines'>): number {
  const times = result.lines.map((line) => Date.parse(String(line.timestamp))).filter(Number.isFinite);
  return times.length < 2 ? 0 : times[times.length - 1] - times[0];
}

/** The first event named `event`, or undefined. */
export function eventOf(result: Pick<CliResult, 'lines'>, event: string): Record<string, unknown> | undefined {
  return result.lines.find((line) => line.event === event);
}

type Query = (sql: string, params?: unknown[]) => Promise<Array<Record<string, unknown>>>;

/** Every relation (table, view, sequence, index...) outside the system schemas, as `schema.name`. */
export async function userRelations(query: Query): Promise<string[]> {
  const rows =
    await query(`SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
                             ORDER BY 1`);
  return rows.map((row) => String(row.name));
}

/** Schemas a test database did not start with, and user-defined types (enums) anywhere outside the system. */
export async function userSchemasAndTypes(query: Query): Promise<string[]> {
  const schemas = await query(`SELECT 'schema ' || nspname AS name FROM pg_namespace
                               WHERE nspname NOT IN ('public', 'information_schema') AND nspname NOT LIKE 'pg\\_%' ORDER BY 1`);
  const types =
    await query(`SELECT 'type ' || t.typname AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND t.typtype IN ('e', 'd', 'r') ORDER BY 1`);
  return [...schemas, ...types].map((row) => String(row.name));
}

/** Backends on `database` other than the caller's own (e.g. left behind by a killed job). */
export async function otherBackends(query: Query): Promise<Array<{ pid: number; state: string; query: string }>> {
  const rows = await query(`SELECT pid, state, left(query, 120) AS query FROM pg_stat_activity
                             WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`);
  return rows.map((row) => ({ pid: Number(row.pid), state: String(row.state), query: String(row.query) }));
}

/** Waits until no other client backend is connected to the database (a SIGKILLed job's orphans end). */
export async function waitForNoOtherBackends(query: Query, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const others = await otherBackends(query);
    if (others.length === 0) return;
    if (Date.now() > deadline) assert.fail(`backends still connected after ${timeoutMs}ms: ${JSON.stringify(others)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Which of `sentinels` occur in `text`, by position in the list (never the value itself). */
export function leakedSentinels(text: string, sentinels: readonly string[]): number[] {
  return sentinels.flatMap((sentinel, index) => (sentinel.length > 0 && text.includes(sentinel) ? [index] : []));
}

/** A small seeded PRNG (mulberry32), so a failing random schedule can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
