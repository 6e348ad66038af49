import * as net from 'node:net';

/**
 * A TCP proxy for fault injection: clients connect to `port`, each connection is piped to the
 * target. `cutAll()` resets every connection open now (both sides, as a network failure would);
 * `cut(index)` resets one, by the order connections were opened. New connections keep working.
 */
export interface TcpProxy {
  readonly port: number;
  /**
   * connections opened so far, in order; `open` is false once either side closed, `sent` is every
   * byte the client sent on it, and `closed` resolves when it closed
   */
  readonly connections: ReadonlyArray<{ index: number; open: boolean; sent: Buffer; closed: Promise<void> }>;
  cutAll(): number;
  cut(index: number): boolean;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  type Pair = {
    index: number;
    open: boolean;
    sent: Buffer;
    closed: Promise<void>;
    client: net.Socket;
    server: net.Socket;
  };
  const pairs: Pair[] = [];
  const proxy = net.createServer((client) => {
    const server = net.connect(targetPort, targetHost);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const pair: Pair = { index: pairs.length, open: true, sent: Buffer.alloc(0), closed, client, server };
    pairs.push(pair);
    client.on('data', (chunk: Buffer) => (pair.sent = Buffer.concat([pair.sent, chunk])));
    const close = () => {
      pair.open = false;
      client.destroy();
      server.destroy();
    };
    client.on('error', close).on('close', close);
    server.on('error', close).on('close', close);
    client.pipe(server);
    server.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    proxy.once('error', reject);
    proxy.listen(0, '127.0.0.1', resolve);
  });
  const reset = (pair: (typeof pairs)[number]) => {
    pair.open = false;
    pair.client.resetAndDestroy();
    pair.server.resetAndDestroy();
  };
  return {
    port: (proxy.address() as net.AddressInfo).port,
    get connections() {
      return pairs.map(({ index, open, sent, closed }) => ({ index, open, sent, closed }));
    },
    cutAll: () => {
      const open = pairs.filter((pair) => pair.open);
      open.forEach(reset);
      return open.length;
    },
    cut: (index) => {
      const pair = pairs[index];
      if (!pair?.open) return false;
      reset(pair);
      return true;
    },
    close: async () => {
      pairs.filter((pair) => pair.open).forEach(reset);
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}
