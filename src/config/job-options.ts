import { z } from 'zod';
import { parseDuration } from '../core/duration';

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, context) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        context.addIssue({ code: 'custom', message: `not a duration: "${text}" (use e.g. 30s, 5m, 2h)` });
        return z.NEVER;
      }
      return ms;
    });

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .default('false')
  .transform((text) => text === 'true' || text === '1' || text === 'yes');

const sqlIdentifier = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine(
      (text) => /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/.test(text),
      'must be a plain SQL identifier (letters, digits, _)',
    );

/**
 * Every PREFLIGHT_* option, with its default. A variable with the PREFLIGHT_ prefix that is not
 * listed here is rejected, so a typo never silently falls back to a default.
 */
export const jobOptionsSchema = z.object({
  /** how long to wait for each store to become reachable; default 60s */
  PREFLIGHT_WAIT_TIMEOUT: duration('60s'),
  /** how long to wait for another instance's job lock; default 5m */
  PREFLIGHT_LOCK_TIMEOUT: duration('5m'),
  /** create the target database when it does not exist; default false */
  PREFLIGHT_CREATE_DATABASE: flag,
  /** `each` migration in its own transaction (default), `all` in one, or `none` */
  PREFLIGHT_TRANSACTION: z.enum(['each', 'all', 'none'], { message: 'must be each, all or none' }).default('each'),
  /** apply even though the database holds migrations this build does not know; default false */
  PREFLIGHT_ALLOW_UNKNOWN: flag,
  /** apply pending migrations older than the newest applied one; default false */
  PREFLIGHT_ALLOW_OUT_OF_ORDER: flag,
  /** lock_timeout of every migration statement, so DDL never queues live traffic for long; default 5s */
  PREFLIGHT_DDL_LOCK_TIMEOUT: duration('5s'),
  /** statement_timeout of every migration statement; default off */
  PREFLIGHT_STATEMENT_TIMEOUT: z
    .string()
    .default('off')
    .transform((text, context) => {
      if (text === 'off' || text === '0') return 0;
      const ms = parseDuration(text);
      if (ms === undefined) {
        context.addIssue({ code: 'custom', message: `not a duration: "${text}" (use e.g. 30s, 5m, or off)` });
        return z.NEVER;
      }
      return ms;
    }),
  /** how many times a migration that hit the lock timeout is retried (with backoff); default 5 */
  PREFLIGHT_DDL_RETRIES: z.coerce
    .number({ message: 'must be a whole number' })
    .int('must be a whole number')
    .min(0, 'must be 0 or more')
    .max(100, 'must be at most 100')
    .default(5),
  /** directory (or `dir/*.js` glob) of compiled TypeORM migrations; default: the platform's own */
  PREFLIGHT_MIGRATIONS: z.string().min(1).optional(),
  /** TypeORM's migrations table; default `migrations` */
  PREFLIGHT_MIGRATIONS_TABLE: sqlIdentifier('migrations'),
  /** schema holding the migrations table; default `public` */
  PREFLIGHT_SCHEMA: sqlIdentifier('public'),
  /** directory of etcd fixture files, or `off`; default: the platform's own `fixtures/etcd`, off with PREFLIGHT_MIGRATIONS */
  PREFLIGHT_FIXTURES: z.string().min(1).optional(),
  /** succeed when no migration is found (an intentionally empty set); default false: zero migrations is an error (65) */
  PREFLIGHT_ALLOW_EMPTY: flag,
  /** the project's compiled TypeORM data source file (what `typeorm migration:run -d` takes); default none */
  PREFLIGHT_DATASOURCE: z.string().min(1).optional(),
  /** Redis persistence required: `aof`, `rdb`, `any` (default; `off` with PREFLIGHT_MIGRATIONS) or `off` (no check) */
  PREFLIGHT_REDIS_PERSISTENCE: z
    .enum(['aof', 'rdb', 'any', 'off'], { message: 'must be aof, rdb, any or off' })
    .default('any'),
  /** directory for a pg_dump (custom format) taken before the first pending migration; default none */
  PREFLIGHT_BACKUP_DIR: z.string().min(1).optional(),
  /** directory the first admin's generated keypair is written to (mode 0600); without it no admin is seeded */
  PREFLIGHT_SECRETS_DIR: z.string().min(1).optional(),
  /** username of the seeded first admin; default admin */
  PREFLIGHT_ADMIN_USERNAME: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, _ . -')
    .default('admin'),
  /** email of the seeded first admin; default admin@example.com */
  PREFLIGHT_ADMIN_EMAIL: z
    .string()
    .regex(/^[^@\s]+@[^@\s]+$/, 'must be an email address')
    .default('admin@example.com'),
  /** apply the shipped schema snapshot on an empty database instead of replaying every migration; default true (false with PREFLIGHT_MIGRATIONS) */
  PREFLIGHT_BASELINE: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
    .default('true')
    .transform((text) => text === 'true' || text === '1' || text === 'yes'),
  /** where to write the JSON report; default /dev/termination-log when writable; `none` disables */
  PREFLIGHT_REPORT_FILE: z.string().min(1).optional(),
  /** error, warn, info (default) or debug */
  LOG_LEVEL: z
    .enum(['error', 'warn', 'info', 'debug'], { message: 'must be error, warn, info or debug' })
    .default('info'),
  /** `json` or `pretty`; default json when stdout is not a terminal */
  LOG_FORMAT: z.enum(['json', 'pretty'], { message: 'must be json or pretty' }).optional(),
});

export type JobOptions = z.output<typeof jobOptionsSchema>;

/** What the job applies besides migrations; each is the platform's unless the project brings its own. */
export interface ContentSelection {
  /** directory of etcd fixtures, or null when fixtures are off */
  fixturesDir: string | null;
  /** PREFLIGHT_FIXTURES names a directory: a missing one is a configuration error, not "no fixtures" */
  fixturesExplicit: boolean;
  redisPersistence: JobOptions['PREFLIGHT_REDIS_PERSISTENCE'];
  baseline: boolean;
}

/**
 * With PREFLIGHT_MIGRATIONS (or PREFLIGHT_DATASOURCE) the project brings its own migrations: the
 * platform's fixtures, Redis check and baseline are off unless their variable is set explicitly.
 */
export function contentSelection(
  options: JobOptions,
  isSet: (name: keyof JobOptions) => boolean,
  platformFixturesDir: string,
  resolvePath: (path: string) => string,
): ContentSelection {
  const ownProject = options.PREFLIGHT_MIGRATIONS !== undefined || options.PREFLIGHT_DATASOURCE !== undefined;
  const fixtures = options.PREFLIGHT_FIXTURES;
  return {
    fixturesDir:
      fixtures === 'off'
        ? null
        : fixtures !== undefined
          ? resolvePath(fixtures)
          : ownProject
            ? null
            : platformFixturesDir,
    fixturesExplicit: fixtures !== undefined && fixtures !== 'off',
    redisPersistence: ownProject && !isSet('PREFLIGHT_REDIS_PERSISTENCE') ? 'off' : options.PREFLIGHT_REDIS_PERSISTENCE,
    baseline: ownProject && !isSet('PREFLIGHT_BASELINE') ? false : options.PREFLIGHT_BASELINE,
  };
}

/** The name in `known` closest to a misspelt `name` (edit distance up to 3), for "did you mean …?". */
export function closestName(name: string, known: string[]): string | undefined {
  const [closest] = known
    .map((candidate) => ({ candidate, distance: editDistance(name, candidate) }))
    .sort((a, b) => a.distance - b.distance);
  return closest && closest.distance <= 3 ? closest.candidate : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
