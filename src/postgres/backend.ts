import type { Client } from 'pg';

/** Cancels the statement a backend is running (a stop request reaching a running migration). */
export async function cancelBackend(client: Client, pid: number): Promise<void> {
  await client.query('SELECT pg_cancel_backend($1)', [pid]);
}

/** What a backend is waiting on (`Lock:relation`, `active`…), from pg_stat_activity; for heartbeats. */
export async function backendWait(client: Client, pid: number): Promise<string | undefined> {
  const result = await client.query<{ wait: string | null }>(
    `SELECT coalesce(wait_event_type || ':' || wait_event, state) AS wait FROM pg_stat_activity WHERE pid = $1`,
    [pid],
  );
  return result.rows[0]?.wait ?? undefined;
}
