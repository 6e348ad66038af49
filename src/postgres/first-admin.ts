import type { Client } from 'pg';

/** The platform's first admin, as stored: user, local password and an admin keypair. */
export interface FirstAdmin {
  username: string;
  email: string;
  passwordHash: string;
  accessKey: string;
  secretKey: string;
}

/** True when some admin keypair exists (then no admin is ever seeded again). */
export async function hasAdminKeypair(client: Client): Promise<boolean> {
  const existing = await client.query(`SELECT 1 FROM keypairs WHERE is_admin LIMIT 1`);
  return existing.rowCount !== 0;
}

/**
 * Inserts the admin in one transaction and runs `beforeCommit` (writing the credentials file) before
 * COMMIT. Anything failing rolls back and is rethrown as it was; a failing ROLLBACK goes to
 * `onRollbackError` and never replaces the original error.
 */
export async function insertFirstAdmin(
  client: Client,
  admin: FirstAdmin,
  beforeCommit: () => Promise<void>,
  onRollbackError: (error: unknown) => void,
): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(`INSERT INTO keypair_resource_policies (name) VALUES ('default') ON CONFLICT (name) DO NOTHING`);
    const user = await client.query<{ id: string }>(
      `INSERT INTO users (username, email, auth_provider, role) VALUES ($1, $2, 'local', 'superadmin') RETURNING id`,
      [admin.username, admin.email],
    );
    await client.query(`INSERT INTO users_local (user_id, password_hash) VALUES ($1, $2)`, [
      user.rows[0].id,
      admin.passwordHash,
    ]);
    await client.query(
      `INSERT INTO keypairs (access_key, secret_key, user_id, is_admin, resource_policy) VALUES ($1, $2, $3, true, 'default')`,
      [admin.accessKey, admin.secretKey, user.rows[0].id],
    );
    await beforeCommit();
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(onRollbackError);
    throw error;
  }
}
