import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { PostgresSettings } from '../config';

/** PostgreSQL's client programs preflight runs. */
export type PgTool = 'pg_dump' | 'pg_restore' | 'psql';

/** Where Debian and Ubuntu install each major version's programs: /usr/lib/postgresql/<version>/bin. */
const debianRoot = '/usr/lib/postgresql';
/** Enough stderr to explain a failure; a restore printing notices for hours must not grow memory. */
const maxStderrChars = 64 * 1024;

/** The program on `searchPath` (PATH), else in the newest /usr/lib/postgresql/<version>/bin; undefined when neither has it. */
export function findPgTool(tool: PgTool, searchPath = ''): string | undefined {
  const onPath = searchPath
    .split(delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => join(dir, tool));
  const versions = directoryEntries(debianRoot)
    .filter((version) => /^\d+(\.\d+)?$/.test(version))
    .sort((a, b) => Number(b) - Number(a))
    .map((version) => join(debianRoot, version, 'bin', tool));
  return [...onPath, ...versions].find(isExecutableFile);
}

/** Which server and database a program connects to, and as what it shows up in pg_stat_activity. */
export interface PgTarget {
  /** server, user, password and sslmode (the database too, unless `database` is given) */
  settings: PostgresSettings;
  /** PGAPPNAME of the child */
  applicationName: string;
  /** default: settings.database */
  database?: string;
}

/** How a program ended: its exit code (null when killed) and the tail of its stderr. */
export interface PgToolResult {
  /** null when the program was killed (on abort) */
  exitCode: number | null;
  /** the last 64 KiB of what it printed on stderr: errors, warnings, notices */
  stderr: string;
}

/**
 * Runs a client program against `target`. Connection settings and the password go through libpq's
 * environment variables only, never the command line (which `ps` shows to every user). On abort
 * the child is terminated; the result then has a null exit code and the caller decides what it means.
 */
export function runPgTool(
  program: string,
  args: string[],
  target: PgTarget,
  environment: Readonly<Record<string, string | undefined>>,
  signal: AbortSignal,
): Promise<PgToolResult> {
  // node:child_process is loaded only here: a run that takes no backup does not pay for it.
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      env: libpqEnvironment(target, environment),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-maxStderrChars);
    });
    const stop = () => child.kill('SIGTERM');
    if (signal.aborted) stop();
    signal.addEventListener('abort', stop, { once: true });
    child.once('error', (error) => {
      signal.removeEventListener('abort', stop);
      reject(error);
    });
    child.once('close', (exitCode) => {
      signal.removeEventListener('abort', stop);
      resolve({ exitCode, stderr });
    });
  });
}

/**
 * The lines of stderr that explain a failure: from the last `error:` / `ERROR:` line (pg_dump's
 * `detail:` lines follow it) to the end, at most three, on one line. The caller redacts it.
 */
export function failureReason(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (lines.length === 0) return 'no error message';
  const lastError = lines.map((line) => /error:/i.test(line)).lastIndexOf(true);
  const reason = lines
    .slice(lastError >= 0 ? lastError : -1)
    .slice(0, 3)
    .join('; ');
  return reason.length > 400 ? `${reason.slice(0, 400)}…` : reason;
}

function libpqEnvironment(
  target: PgTarget,
  environment: Readonly<Record<string, string | undefined>>,
): NodeJS.ProcessEnv {
  const { settings } = target;
  const hosts = settings.hosts ?? [{ host: settings.host, port: settings.port }];
  // Only what libpq needs: no PG* variable of preflight's own environment may redirect the child.
  const env: NodeJS.ProcessEnv = {
    PATH: environment.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LC_ALL: 'C',
    PGHOST: hosts.map(({ host }) => host).join(','),
    PGPORT: hosts.map(({ port }) => String(port)).join(','),
    PGUSER: settings.user,
    PGDATABASE: target.database ?? settings.database,
    PGSSLMODE: settings.sslMode,
    PGAPPNAME: target.applicationName,
    PGCONNECT_TIMEOUT: String(settings.connectTimeoutSeconds ?? 10),
  };
  const optional: Array<[string, string | undefined]> = [
    ['PGPASSWORD', settings.password],
    ['PGSSLROOTCERT', settings.sslRootCert],
    ['PGSSLCERT', settings.sslCert],
    ['PGSSLKEY', settings.sslKey],
    ['PGOPTIONS', settings.options],
    ['PGTARGETSESSIONATTRS', settings.targetSessionAttrs],
    // HOME lets libpq find ~/.pgpass and ~/.postgresql/root.crt, as preflight's own connections do.
    ['HOME', environment.HOME],
  ];
  for (const [name, value] of optional) if (value !== undefined) env[name] = value;
  return env;
}

function directoryEntries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR')
      return [];
    throw error;
  }
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    // Missing or not executable: this candidate is not the program, the next one may be.
    return false;
  }
}

/** What a dump is: an archive for pg_restore (custom, tar or directory format), plain SQL for psql, or neither. */
export type DumpFormat = 'archive' | 'sql' | 'empty' | 'unknown';

/** Tells the formats apart by content, not by name: custom starts with `PGDMP`, tar has `ustar` at 257. Throws when unreadable. */
export async function dumpFormat(path: string): Promise<DumpFormat> {
  const info = await stat(path);
  if (info.isDirectory())
    return statSync(join(path, 'toc.dat'), { throwIfNoEntry: false })?.isFile() ? 'archive' : 'unknown';
  if (info.size === 0) return 'empty';
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, 0);
    const head = buffer.subarray(0, bytesRead);
    if (head.subarray(0, 5).toString('latin1') === 'PGDMP' || head.subarray(257, 262).toString('latin1') === 'ustar')
      return 'archive';
    return head.includes(0) ? 'unknown' : 'sql';
  } finally {
    await handle.close();
  }
}
