import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { Socket } from 'node:net';

/**
 * A throwaway server that can be stopped and started again (outage tests), and that dies with the
 * process that started it even when that process is killed with SIGKILL.
 *
 * Node cannot ask the kernel to signal a child when the parent dies, and an 'exit' handler cannot
 * wait for a server to shut down. So every server runs under a tiny shell watchdog that reads its
 * stdin, a pipe from this process: the read returns at end-of-file, which happens both when stop()
 * closes the pipe and when this process dies for any reason; the watchdog then sends the server
 * its graceful stop signal. The watchdog runs in its own session (detached), so a Ctrl-C in the
 * terminal reaches the test runner, which stops the stack in order, rather than the servers.
 */
const watchdogScript = `
sig=$1; shift
exec 3<&0
"$@" </dev/null 3<&- &
server=$!
( read -r _ <&3; kill -s "$sig" "$server" ) &
watcher=$!
exec 3<&-
wait "$server"
code=$?
kill "$watcher" 2>/dev/null
exit "$code"
`;

/** Deletes a directory once our pipe closes; retried because servers may still be writing to it. */
const reaperScript = `
read -r _
i=0
while [ -e "$1" ] && [ "$i" -lt 50 ]; do
  rm -rf "$1" 2>/dev/null || sleep 0.2
  i=$((i + 1))
done
`;

export interface ServerControl {
  /** starts the server (again) on the same port and data directory; resolves once it answers */
  start(): Promise<void>;
  /** stops the server gracefully and resolves once its process has exited */
  stop(): Promise<void>;
  /** true between a successful start() and the next stop() or crash */
  readonly running: boolean;
  /** the server's combined stdout/stderr, kept in the stack's temp dir */
  readonly logPath: string;
}

export interface ServerSpec {
  name: string;
  command: string;
  args: string[];
  /** the signal that makes this server shut down cleanly (postgres: SIGINT = fast shutdown) */
  stopSignal: NodeJS.Signals;
  cwd: string;
  logPath: string;
  /** run as this user (PostgreSQL refuses root) */
  user?: { uid: number; gid: number };
  /** one attempt to talk to the server; rejects while it is not ready */
  probe(): Promise<void>;
  /** runs once, before the first start (initdb) */
  prepare?(): Promise<void>;
  /** runs once, after the first successful probe (create the etcd root user, enable auth) */
  afterFirstStart?(): Promise<void>;
}

const startTimeoutMs = 30_000;
const probeIntervalMs = 40;

export class ServerProcess implements ServerControl {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private exitCode: number | null | undefined;
  private started = false;

  constructor(private readonly spec: ServerSpec) {}

  get running(): boolean {
    return this.child !== undefined && this.exitCode === undefined;
  }

  get logPath(): string {
    return this.spec.logPath;
  }

  async start(): Promise<void> {
    if (this.running) return;
    if (!this.started) await this.spec.prepare?.();
    const logFd = fs.openSync(this.spec.logPath, 'a');
    const child = spawn(
      '/bin/sh',
      [
        '-c',
        watchdogScript,
        'watchdog',
        // POSIX kill -s takes TERM, not SIGTERM (dash rejects the prefix).
        this.spec.stopSignal.replace(/^SIG/, ''),
        this.spec.command,
        ...this.spec.args,
      ],
      {
        cwd: this.spec.cwd,
        detached: true,
        stdio: ['pipe', logFd, logFd],
        ...this.spec.user,
      },
    );
    fs.closeSync(logFd);
    this.child = child;
    this.exitCode = undefined;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        this.exitCode = code;
        resolve();
      });
      child.once('error', (error) => {
        fs.appendFileSync(this.spec.logPath, `spawn failed: ${error.message}\n`);
        this.exitCode = null;
        resolve();
      });
    });
    // Neither the child nor its pipe may keep the event loop alive: a test file that started a
    // stack lazily must still exit when its tests are done (the watchdog then stops the server).
    child.unref();
    (child.stdin as Socket).unref();
    await this.waitUntilReady();
    if (!this.started) await this.spec.afterFirstStart?.();
    this.started = true;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    // Hold the event loop open until the server is really gone, or the process could end mid-stop.
    child.ref();
    child.stdin?.end();
    await this.exited;
    child.unref();
    this.child = undefined;
  }

  private async waitUntilReady(): Promise<void> {
    const deadline = Date.now() + startTimeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      if (this.exitCode !== undefined) {
        throw new Error(`${this.spec.name} exited (code ${this.exitCode}) during start-up:\n${this.logTail()}`);
      }
      try {
        await this.spec.probe();
        return;
      } catch (error) {
        lastError = error;
      }
      await new Promise((resolve) => setTimeout(resolve, probeIntervalMs));
    }
    await this.stop();
    throw new Error(
      `${this.spec.name} did not answer within ${startTimeoutMs} ms (${String(lastError)}):\n${this.logTail()}`,
    );
  }

  private logTail(): string {
    const text = fs.existsSync(this.spec.logPath) ? fs.readFileSync(this.spec.logPath, 'utf8') : '';
    return text.split('\n').slice(-25).join('\n');
  }
}

/** Starts the fallback cleaner for `dir`; ending the returned pipe (or dying) triggers it. */
export function startReaper(dir: string): ChildProcess {
  const reaper = spawn('/bin/sh', ['-c', reaperScript, 'reaper', dir], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  reaper.unref();
  (reaper.stdin as Socket).unref();
  return reaper;
}

/** Distinct free loopback ports; all are held open together so none is handed out twice. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}
