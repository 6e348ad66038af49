/**
 * `npm run demo`: what preflight does on a fresh platform, against throwaway PostgreSQL, etcd and
 * Redis servers. The first run does all the work; the second shows the no-op path.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { startStack, type Stack } from '../test/support/stack';

/** dist/scripts/demo.js → dist/bundle/cli/preflight.js (the single-file CLI, scripts/bundle.mjs) */
const cliPath = path.resolve(__dirname, '../bundle/cli/preflight.js');
const demoDatabase = 'platform';

let child: ChildProcess | undefined;
let interruptedBy: NodeJS.Signals | undefined;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // Between CLI runs, or on a second signal, leave at once: the servers' watchdogs stop them.
    if (child === undefined || interruptedBy !== undefined) process.exit(signal === 'SIGINT' ? 130 : 143);
    interruptedBy = signal;
    // A terminal Ctrl-C already reached the CLI (same process group); a `kill` did not.
    child.kill(signal);
  });
}

async function main(): Promise<number> {
  if (!fs.existsSync(cliPath)) {
    say(`${path.relative(process.cwd(), cliPath)} does not exist yet: build the CLI first (npm run build).`);
    return 1;
  }
  say('starting throwaway PostgreSQL, etcd and Redis ...');
  const stack = await startStack();
  try {
    say(`up in ${stack.startupMs} ms`);
    await createDatabase(stack);
    const reportFile = path.join(stack.dir, 'report.json');
    const env = demoEnv(stack, reportFile);
    const codes: number[] = [];
    for (const [index, title] of ['first run: everything is pending', 'second run: nothing left to do'].entries()) {
      if (interruptedBy) break;
      say(`\n=== ${index + 1}. preflight run (${title})`);
      fs.rmSync(reportFile, { force: true });
      const code = await runCli(['run'], env);
      codes.push(code);
      say(`=== exit code ${code}`);
      printReport(reportFile);
    }
    if (interruptedBy) return interruptedBy === 'SIGINT' ? 130 : 143;
    return codes.find((code) => code !== 0) ?? 0;
  } finally {
    await stack.stop();
    say('stopped the servers and deleted their data');
  }
}

/** The platform's own database, as an operator would have created it; `postgres` stays the admin db. */
async function createDatabase(stack: Stack): Promise<void> {
  const admin = new Client({ connectionString: stack.info.postgres.adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${demoDatabase}`);
  } finally {
    await admin.end();
  }
}

/** Only what preflight needs: an inherited PREFLIGHT_* variable would be rejected as unknown. */
function demoEnv(stack: Stack, reportFile: string): Record<string, string> {
  const { postgres, etcd, redis } = stack.info;
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? stack.dir,
    DATABASE_URL: `postgres://postgres:${encodeURIComponent(postgres.password)}@${postgres.host}:${postgres.port}/${demoDatabase}`,
    ETCD_ENDPOINTS: etcd.endpoint,
    ETCD_NAMESPACE: '/demo',
    ETCD_USERNAME: etcd.username,
    ETCD_PASSWORD: etcd.password,
    REDIS_URL: redis.url,
    STORAGE_MOUNT: '/tmp/vfroot',
    LOG_FORMAT: 'pretty',
    PREFLIGHT_REPORT_FILE: reportFile,
    // The first admin's generated keypair lands here (mode 0600); the demo's stack directory goes away with it.
    PREFLIGHT_SECRETS_DIR: `${stack.dir}/secrets`,
  };
}

/** Runs the CLI with its output streaming straight to ours. */
function runCli(args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = spawn(process.execPath, [cliPath, ...args], { env, stdio: 'inherit' });
    child = started;
    started.once('error', reject);
    started.once('close', (code, signal) => {
      child = undefined;
      // A child killed by a signal reports it the shell's way: 128 + the signal number.
      resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0));
    });
  });
}

function printReport(reportFile: string): void {
  if (!fs.existsSync(reportFile)) {
    say(`(no report: preflight did not write ${reportFile})`);
    return;
  }
  const text = fs.readFileSync(reportFile, 'utf8');
  say(`report (${Buffer.byteLength(text)} bytes, ${reportFile}):`);
  try {
    say(JSON.stringify(JSON.parse(text), null, 2));
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    say(`(not valid JSON: ${error.message})\n${text}`);
  }
}

function say(message: string): void {
  process.stdout.write(`${message}\n`);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`demo: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
