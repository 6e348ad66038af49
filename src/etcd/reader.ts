import type { EtcdStore } from './access';
import type { MigrationContext } from '../postgres/migration-context';
import { joinKey } from './key-path';

/** The read-only etcd view for migrations, over the job's client and namespace. */
export function etcdReader(store: EtcdStore, namespace: string): NonNullable<MigrationContext['etcd']> {
  return {
    namespace,
    async readPrefix(prefix) {
      const base = joinKey(namespace, prefix);
      const entries = await (await store.writer()).getAll().prefix(`${base}/`).strings();
      const strip = namespace === '' ? 0 : joinKey(namespace).length + 1;
      return new Map(Object.entries(entries).map(([key, value]) => [key.slice(strip), value]));
    },
  };
}
