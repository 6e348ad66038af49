import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Etcd3, type IOptions } from 'etcd3';
import { etcdBinary } from './binaries';
import { freePorts, ServerProcess } from './server-process';

/**
 * A throwaway single-member etcd for a test of its own (the shared stack's etcd has auth and plain
 * http): its data in `dir`, client URLs `scheme://127.0.0.1:<free port>`, `args` appended (TLS files,
 * `--enable-grpc-gateway=false`, ...). It counts as started once etcd3 with `credentials` can read.
 */
export async function startEtcdServer(options: {
  name: string;
  dir: string;
  scheme: 'http' | 'https';
  args?: string[];
  credentials?: IOptions['credentials'];
}): Promise<{ server: ServerProcess; endpoint: string }> {
  const { name, dir, scheme, args = [], credentials } = options;
  const [port, peerPort] = await freePorts(2);
  const endpoint = `${scheme}://127.0.0.1:${port}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const server = new ServerProcess({
    name,
    command: etcdBinary(),
    args: [
      `--name=${name}`,
      `--data-dir=${path.join(dir, 'data')}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=${name}=${peer}`,
      `--initial-cluster-token=${randomBytes(4).toString('hex')}`,
      ...args,
    ],
    stopSignal: 'SIGTERM',
    cwd: dir,
    logPath: path.join(dir, 'etcd.log'),
    probe: async () => {
      const client = new Etcd3({ hosts: endpoint, credentials });
      try {
        await client.get('probe').string();
      } finally {
        client.close();
      }
    },
  });
  await server.start();
  return { server, endpoint };
}
