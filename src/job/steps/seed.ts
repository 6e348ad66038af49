import { randomBytes, randomInt, scrypt } from 'node:crypto';
import { access, chmod, constants, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from 'pg';
import type { Config } from '../../config';
import type { Logger } from '../../log/logger';
import { PreflightError, reasonOf } from '../../core/errors';
import { hasAdminKeypair, insertFirstAdmin } from '../../postgres/first-admin';
import { requireExclusive, sessionOf, type Step } from './step';

const base32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const alphanumeric = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** The file the first admin's credentials are written to, inside PREFLIGHT_SECRETS_DIR. */
const adminSecretsFile = 'admin-keypair.env';

function randomString(alphabet: string, length: number): string {
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
}

/** `scrypt$N$r$p$salt$hash`, verifiable with node:crypto or any scrypt library. */
async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = (await promisify(scrypt)(password, salt, 32)) as Buffer;
  return `scrypt$16384$8$1$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Fails early (exit 78, before any store is touched) when the first admin would be seeded into a directory that cannot be written. */
export async function checkSecretsDir(config: Config): Promise<void> {
  if (!config.secretsDir || config.customMigrations) return;
  try {
    await mkdir(config.secretsDir, { recursive: true, mode: 0o700 });
    await access(config.secretsDir, constants.W_OK);
  } catch (error) {
    throw new PreflightError(
      'config',
      `PREFLIGHT_SECRETS_DIR: cannot write ${config.secretsDir} (${(error as NodeJS.ErrnoException).code ?? reasonOf(error)})`,
      { cause: error },
    );
  }
}

interface SeedResult {
  status: 'applied' | 'unchanged' | 'skipped';
  reason?: string;
  file?: string;
}

/** The platform's database seeds: today the first admin and its keypair. */
export const seedStep: Step<void, void> = {
  name: 'seed',
  async run(job) {
    const seeded = await seedAdmin(sessionOf(job), job.config, job.log, () =>
      requireExclusive(job, 'the first admin to create'),
    );
    const details = seeded.reason || seeded.file ? { reason: seeded.reason, file: seeded.file } : undefined;
    return { status: seeded.status, details, value: undefined };
  },
};

/**
 * Backend.AI's "fixture populate" of the first admin, automated: on a database without an admin
 * keypair, creates the admin user and a keypair with a random access key (AKIA + 16 base32) and a
 * random 40-character secret. Never a second admin, never rotated. The credentials go to a 0600
 * file, written before the transaction commits (a crash leaves a file for an admin that does not
 * exist yet, and the next run overwrites it), and never to the log.
 */
async function seedAdmin(client: Client, config: Config, log: Logger, beforeWrite: () => void): Promise<SeedResult> {
  if (config.customMigrations)
    return { status: 'skipped', reason: 'PREFLIGHT_MIGRATIONS is set: the platform seeds do not apply' };
  if (await hasAdminKeypair(client)) return { status: 'unchanged' };
  if (!config.secretsDir) {
    log.warn({
      event: 'seed.admin_skipped',
      message: 'no admin keypair exists; set PREFLIGHT_SECRETS_DIR to create the first admin',
    });
    return { status: 'skipped', reason: 'PREFLIGHT_SECRETS_DIR not set' };
  }
  beforeWrite();
  const accessKey = `AKIA${randomString(base32, 16)}`;
  const secretKey = randomString(alphanumeric, 40);
  const password = randomString(alphanumeric, 24);
  const file = join(config.secretsDir, adminSecretsFile);
  const admin = { username: config.adminUsername, email: config.adminEmail, accessKey, secretKey };
  const writeFile = () =>
    writeSecrets(file, {
      ADMIN_USERNAME: admin.username,
      ADMIN_EMAIL: admin.email,
      ADMIN_PASSWORD: password,
      ACCESS_KEY: accessKey,
      SECRET_KEY: secretKey,
    });
  try {
    await insertFirstAdmin(client, { ...admin, passwordHash: await hashPassword(password) }, writeFile, (error) =>
      log.warn({ event: 'seed.rollback_failed', error: reasonOf(error) }),
    );
  } catch (error) {
    if (error instanceof PreflightError) throw error;
    throw new PreflightError(
      'software',
      `seeding the first admin ${config.adminUsername} failed: ${reasonOf(error)} (rolled back)`,
      { cause: error },
    );
  }
  log.info({ event: 'seed.admin_created', username: config.adminUsername, file });
  return { status: 'applied', file };
}

/** KEY=value lines, mode 0600, written to a temporary name and renamed so a reader never sees half a file. */
async function writeSecrets(file: string, values: Record<string, string>): Promise<void> {
  const text = Object.entries(values)
    .map(([key, value]) => `${key}=${value}\n`)
    .join('');
  const partial = `${file}.partial`;
  try {
    await mkdir(join(file, '..'), { recursive: true, mode: 0o700 });
    await writeFile(partial, text, { mode: 0o600 });
    await chmod(partial, 0o600);
    await rename(partial, file);
  } catch (error) {
    throw new PreflightError(
      'software',
      `PREFLIGHT_SECRETS_DIR: cannot write ${file} (${(error as NodeJS.ErrnoException).code ?? reasonOf(error)}); the admin was not created`,
      { cause: error },
    );
  }
}
