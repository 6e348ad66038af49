import type { Client } from 'pg';
import type { Config } from '../config';
import { PreflightError } from '../core/errors';
import { missingPrivilege } from '../postgres/privileges';

/** Exit 77 before any write when the role lacks what the job needs, naming the GRANT that fixes it. */
export async function checkPrivileges(client: Client, config: Config): Promise<void> {
  const missing = await missingPrivilege(client, { schema: config.schema, table: config.migrationsTable });
  if (!missing) return;
  throw new PreflightError(
    'noperm',
    `role ${missing.role} lacks ${missing.privilege} in database ${config.postgres.database}: as the owner or a superuser run ${missing.grant}`,
  );
}
