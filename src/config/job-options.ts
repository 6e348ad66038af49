import { parseDuration } from '../core/duration';

/** Why an option's text was refused. */
class Refusal {
  constructor(readonly message: string) {}
}

/** One option: its text (undefined when unset or empty) to its value, or a refusal. */
type OptionRule<T> = (text: string | undefined) => T | Refusal;

const duration =
  (fallback: string): OptionRule<number> =>
  (text = fallback) =>
    parseDuration(text) ?? new Refusal(`not a duration: "${text}" (use e.g. 30s, 5m, 2h)`);

function oneOf<const V extends string>(values: readonly V[], fallback: V): OptionRule<V>;
function oneOf<const V extends string>(values: readonly V[]): OptionRule<V | undefined>;
function oneOf<const V extends string>(values: readonly V[], fallback?: V): OptionRule<V | undefined> {
  const message = `must be ${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
  return (text = fallback) =>
    text === undefined || (values as readonly string[]).includes(text) ? (text as V | undefined) : new Refusal(message);
}

const booleans = ['true', 'false', '1', '0', 'yes', 'no'] as const;
const flag =
  (fallback: 'true' | 'false'): OptionRule<boolean> =>
  (text = fallback) =>
    (booleans as readonly string[]).includes(text)
      ? text === 'true' || text === '1' || text === 'yes'
      : new Refusal('must be true or false');

const matching =
  (pattern: RegExp, message: string, fallback: string): OptionRule<string> =>
  (text = fallback) =>
    pattern.test(text) ? text : new Refusal(message);

const sqlIdentifier = (fallback: string) =>
  matching(/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/, 'must be a plain SQL identifier (letters, digits, _)', fallback);

const text: OptionRule<string | undefined> = (value) => value;

/**
 * Every PREFLIGHT_* option, with its default. A variable with the PREFLIGHT_ prefix that is not
 * listed here is rejected, so a typo never silently falls back to a default. (Plain functions
 * rather than zod: building and running zod's schema cost ~15 ms of every start, issue 15.)
 */
export const jobOptions = {
  /** how long to wait for each store to become reachable; default 60s */
  PREFLIGHT_WAIT_TIMEOUT: duration('60s'),
  /** how long to wait for another instance's job lock; default 5m */
  PREFLIGHT_LOCK_TIMEOUT: duration('5m'),
  /** create the target database when it does not exist; default false */
  PREFLIGHT_CREATE_DATABASE: flag('false'),
  /** `each` migration in its own transaction (default), `all` in one, or `none` */
  PREFLIGHT_TRANSACTION: oneOf(['each', 'all', 'none'], 'each'),
  /** apply even though the database holds migrations this build does not know; default false */
  PREFLIGHT_ALLOW_UNKNOWN: flag('false'),
  /** apply pending migrations older than the newest applied one; default false */
  PREFLIGHT_ALLOW_OUT_OF_ORDER: flag('false'),
  /** lock_timeout of every migration statement, so DDL never queues live traffic for long; default 5s */
  PREFLIGHT_DDL_LOCK_TIMEOUT: duration('5s'),
  /** statement_timeout of every migration statement; default off */
  PREFLIGHT_STATEMENT_TIMEOUT: ((value = 'off') =>
    value === 'off' || value === '0'
      ? 0
      : (parseDuration(value) ??
        new Refusal(`not a duration: "${value}" (use e.g. 30s, 5m, or off)`))) as OptionRule<number>,
  /** how many times a migration that hit the lock timeout is retried (with backoff); default 5 */
  PREFLIGHT_DDL_RETRIES: ((value = '5') => {
    const count = Number(value);
    if (!Number.isInteger(count)) return new Refusal('must be a whole number');
    if (count < 0) return new Refusal('must be 0 or more');
    return count > 100 ? new Refusal('must be at most 100') : count;
  }) as OptionRule<number>,
  /** directory (or `dir/*.js` glob) of compiled TypeORM migrations; default: the platform's own */
  PREFLIGHT_MIGRATIONS: text,
  /** TypeORM's migrations table; default `migrations` */
  PREFLIGHT_MIGRATIONS_TABLE: sqlIdentifier('migrations'),
  /** schema holding the migrations table; default `public` */
  PREFLIGHT_SCHEMA: sqlIdentifier('public'),
  /** directory of etcd fixture files, or `off`; default: the platform's own `fixtures/etcd`, off with PREFLIGHT_MIGRATIONS */
  PREFLIGHT_FIXTURES: text,
  /** succeed when no migration is found (an intentionally empty set); default false: zero migrations is an error (65) */
  PREFLIGHT_ALLOW_EMPTY: flag('false'),
  /** the project's compiled TypeORM data source file (what `typeorm migration:run -d` takes); default none */
  PREFLIGHT_DATASOURCE: text,
  /** Redis persistence required: `aof`, `rdb`, `any` (default; `off` with PREFLIGHT_MIGRATIONS) or `off` (no check) */
  PREFLIGHT_REDIS_PERSISTENCE: oneOf(['aof', 'rdb', 'any', 'off'], 'any'),
  /** directory for a pg_dump (custom format) taken before the first pending migration; default none */
  PREFLIGHT_BACKUP_DIR: text,
  /** directory the first admin's generated keypair is written to (mode 0600); without it no admin is seeded */
  PREFLIGHT_SECRETS_DIR: text,
  /** username of the seeded first admin; default admin */
  PREFLIGHT_ADMIN_USERNAME: matching(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, _ . -', 'admin'),
  /** email of the seeded first admin; default admin@example.com */
  PREFLIGHT_ADMIN_EMAIL: matching(/^[^@\s]+@[^@\s]+$/, 'must be an email address', 'admin@example.com'),
  /** apply the shipped schema snapshot on an empty database instead of replaying every migration; default true (false with PREFLIGHT_MIGRATIONS) */
  PREFLIGHT_BASELINE: flag('true'),
  /** where to write the JSON report; default /dev/termination-log when writable; `none` disables */
  PREFLIGHT_REPORT_FILE: text,
  /** error, warn, info (default) or debug */
  LOG_LEVEL: oneOf(['error', 'warn', 'info', 'debug'], 'info'),
  /** `json` or `pretty`; default json when stdout is not a terminal */
  LOG_FORMAT: oneOf(['json', 'pretty']),
};

export type JobOptions = { [K in keyof typeof jobOptions]: Exclude<ReturnType<(typeof jobOptions)[K]>, Refusal> };

/** The options from `values` (unset or empty: undefined), or what is wrong with them, one problem per variable. */
export function parseJobOptions(
  values: Readonly<Record<string, string | undefined>>,
):
  | { options: JobOptions; problems: [] }
  | { options?: undefined; problems: Array<{ variable: string; message: string }> } {
  const options: Record<string, unknown> = {};
  const problems: Array<{ variable: string; message: string }> = [];
  for (const [name, rule] of Object.entries(jobOptions) as Array<[string, OptionRule<unknown>]>) {
    const value = rule(values[name]);
    if (value instanceof Refusal) problems.push({ variable: name, message: value.message });
    else options[name] = value;
  }
  return problems.length > 0 ? { problems } : { options: options as JobOptions, problems: [] };
}

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
