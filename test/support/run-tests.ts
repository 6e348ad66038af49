/**
 * `npm test [-- files or node --test flags]`: starts one stack for the whole run, runs the compiled
 * tests with `node --test`, stops the stack, then fails the run if any sentinel password shows up
 * in what the tests or the CLI children printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startStack, type Stack } from './stack';

/** dist/, the compiled tree this file lives in (dist/test/support/run-tests.js). */
const distDir = path.resolve(__dirname, '../..');
const testConcurrency = 4;

let child: ChildProcess | undefined;
let interruptedBy: NodeJS.Signals | undefined;

// The servers run in their own session, so Ctrl-C reaches only us and `node --test` (our process
// group): the first signal lets the tests end, then the stack stops in order. A signal while no
// tests run, or a second one, exits at once; the servers' watchdogs then stop them (stack.ts).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (child === undefined || interruptedBy !== undefined) process.exit(exitCodeFor(signal));
    interruptedBy = signal;
    child.kill(signal);
  });
}

async function main(argv: string[]): Promise<number> {
  const nodeFlags = argv.filter((arg) => arg.startsWith('-'));
  const files = testFiles(argv.filter((arg) => !arg.startsWith('-')));
  if (files.length === 0) {
    process.stderr.write(`run-tests: no *.test.js files under ${path.join(distDir, 'test')}; did the build run?\n`);
    return 1;
  }
  const stack = await startStack();
  process.stderr.write(`run-tests: PostgreSQL, etcd and Redis up in ${stack.startupMs} ms (${stack.dir})\n`);
  // Inside the stack's dir, so whatever removes that (stop() or the reaper) removes this too.
  const captureDir = path.join(stack.dir, 'capture');
  fs.mkdirSync(captureDir);
  try {
    const run = await runNodeTest([...nodeFlags, ...files], {
      ...process.env,
      PREFLIGHT_TEST_STACK: JSON.stringify(stack.info),
      PREFLIGHT_TEST_CAPTURE_DIR: captureDir,
    });
    const leaks = findLeaks(stack, captureDir, run.output);
    if (leaks.length > 0) {
      process.stderr.write('run-tests: FAILED: sentinel passwords leaked:\n');
      for (const leak of leaks) process.stderr.write(`  ${leak}\n`);
      if (leaks.some((leak) => leak.includes('captured CLI output'))) {
        const kept = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-capture-'));
        fs.renameSync(captureDir, path.join(kept, 'capture'));
        process.stderr.write(`run-tests: captured CLI output kept in ${path.join(kept, 'capture')}\n`);
      }
      return 1;
    }
    if (interruptedBy) return exitCodeFor(interruptedBy);
    return run.code ?? 1;
  } finally {
    await stack.stop();
  }
}

/** The files given (a test/x.test.ts path maps to its compiled dist/test/x.test.js), else all. */
function testFiles(args: string[]): string[] {
  if (args.length > 0) {
    return args.map((arg) => {
      const compiled = path.resolve(distDir, arg.replace(/\.ts$/, '.js'));
      return /\.ts$/.test(arg) && fs.existsSync(compiled) ? compiled : arg;
    });
  }
  const found: string[] = [];
  const walk = (dir: string): void => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const entryPath = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(entryPath);
      else if (entry.name.endsWith('.test.js')) found.push(entryPath);
    }
  };
  walk(path.join(distDir, 'test'));
  return found.sort();
}

/** Runs node --test, printing its output live while keeping a copy for the leak scan. */
function runNodeTest(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: { stdout: string; stderr: string } }> {
  const reporter = args.some((arg) => arg.startsWith('--test-reporter')) ? [] : ['--test-reporter=spec'];
  // Piping stdout would turn colours off; keep them when a person is watching.
  const colour = process.stdout.isTTY && !process.env.NO_COLOR ? { FORCE_COLOR: '1' } : {};
  const started = spawn(process.execPath, ['--test', `--test-concurrency=${testConcurrency}`, ...reporter, ...args], {
    env: { ...env, ...colour },
    stdio: ['inherit', 'pipe', 'pipe'],
  });
  child = started;
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  started.stdout?.on('data', (chunk: Buffer) => {
    stdout.push(chunk);
    process.stdout.write(chunk);
  });
  started.stderr?.on('data', (chunk: Buffer) => {
    stderr.push(chunk);
    process.stderr.write(chunk);
  });
  return new Promise((resolve, reject) => {
    started.once('error', reject);
    started.once('close', (code) => {
      child = undefined;
      resolve({
        code,
        output: { stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() },
      });
    });
  });
}

/** Where each sentinel occurs, by file or stream and line; never the matching text itself. */
function findLeaks(stack: Stack, captureDir: string, output: { stdout: string; stderr: string }): string[] {
  const sources: Array<[string, string]> = [
    ['node --test stdout', output.stdout],
    ['node --test stderr', output.stderr],
  ];
  for (const name of fs.readdirSync(captureDir, { recursive: true, encoding: 'utf8' })) {
    const file = path.join(captureDir, name);
    if (fs.statSync(file).isFile()) sources.push([`captured CLI output ${name}`, fs.readFileSync(file, 'utf8')]);
  }
  const named: Array<[string, string]> = [
    ['PostgreSQL', stack.info.postgres.password],
    ['etcd', stack.info.etcd.password],
    ['Redis', stack.info.redis.password],
  ];
  const leaks: string[] = [];
  for (const [source, text] of sources) {
    text.split('\n').forEach((line, index) => {
      for (const [store, password] of named) {
        if (line.includes(password)) leaks.push(`${store} password in ${source}, line ${index + 1}`);
      }
    });
  }
  return leaks;
}

function exitCodeFor(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : 143;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`run-tests: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
