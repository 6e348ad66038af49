/** Running a Node child and measuring it: wall time from spawn to exit, and its peak RSS. */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The repository root, found from this compiled file (dist/bench/ → ./). */
export const repoRoot = path.resolve(__dirname, '../..');
/** The built CLI as it ships, `node dist/bundle/cli/preflight.js` (scripts/bundle.mjs). */
export const cliPath = path.join(repoRoot, 'dist/bundle/cli/preflight.js');
/** Preloaded (`-r`) to record module load times; see load-hook.ts. */
export const loadHookPath = path.join(__dirname, 'load-hook.js');
/** Preloaded (`-r`) to read VmHWM at exit when GNU time is missing; see peak-rss-hook.ts. */
const peakRssHookPath = path.join(__dirname, 'peak-rss-hook.js');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** spawn to exit, measured in this process */
  wallMs: number;
  /** the child's peak resident set size in KiB, when asked for */
  peakRssKb?: number;
  /** the child's user + system CPU time in ms (10 ms resolution under GNU time), when RSS is asked for */
  cpuMs?: number;
  /** Date.now() at spawn, to place the child's log timestamps */
  spawnedAtEpochMs: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** the child's whole environment: nothing is inherited */
  env: Record<string, string>;
  /** working directory; default: a temp dir with no `.env` in it */
  cwd?: string;
  /** options for node itself, before the script (`-r hook.js`) */
  nodeArgs?: string[];
  /** measure peak RSS and CPU time (through GNU time, or the VmHWM hook when it is missing) */
  measureRss?: boolean;
  /** SIGKILL the child after this long; default 120 000 */
  timeoutMs?: number;
}

/**
 * How peak RSS is measured. GNU time's %M is the kernel's ru_maxrss of the waited-for child (KiB),
 * taken after the process is gone, so nothing inside the child can miss a late peak; time adds
 * one fork+exec (about 1 ms) to the wall time of every measured run, preflight and baseline alike.
 */
export const rssMethod: 'gnu-time' | 'vmhwm-hook' = hasGnuTime() ? 'gnu-time' : 'vmhwm-hook';

function hasGnuTime(): boolean {
  const probe = spawnSync('/usr/bin/time', ['-f', '%M', 'true'], { encoding: 'utf8' });
  return probe.status === 0 && /^\d+\s*$/m.test(probe.stderr);
}

let scratch: string | undefined;
/** A private temp dir for this bench run, removed by removeScratch(). */
export function scratchDir(): string {
  scratch ??= fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-bench-'));
  return scratch;
}

export function removeScratch(): void {
  // BENCH_KEEP_SCRATCH=1 keeps it (generated migrations, reports, cpu profiles) for a look afterwards.
  if (scratch && process.env.BENCH_KEEP_SCRATCH) progress(`scratch kept: ${scratch}`);
  else if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
}

let sequence = 0;

export function runNode(script: string, args: string[], options: RunOptions): Promise<RunResult> {
  return runCommand(process.execPath, [...(options.nodeArgs ?? []), script, ...args], options);
}

/**
 * Runs any program (Node or not, e.g. psql) and measures it the same way. Without GNU time, peak
 * RSS is measured only for Node children (the VmHWM hook).
 */
export function runCommand(program: string, programArgs: string[], options: RunOptions): Promise<RunResult> {
  const rssFile = path.join(scratchDir(), `rss-${process.pid}-${sequence++}`);
  const env = { ...options.env };
  let command = program;
  let commandArgs = programArgs;
  if (options.measureRss && rssMethod === 'gnu-time') {
    command = '/usr/bin/time';
    commandArgs = ['-f', '%M %U %S', '-o', rssFile, program, ...programArgs];
  } else if (options.measureRss && program === process.execPath) {
    commandArgs = ['-r', peakRssHookPath, ...programArgs];
    env.BENCH_RSS_FILE = rssFile;
  }
  const cwd = options.cwd ?? scratchDir();
  const spawnedAtEpochMs = Date.now();
  const started = performance.now();
  const child = spawn(command, commandArgs, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  child.stdout.on('data', (chunk: Buffer) => output.stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => output.stderr.push(chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  return new Promise((resolve, reject) => {
    let wallMs = 0;
    child.once('error', reject);
    child.once('exit', () => (wallMs = performance.now() - started));
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      let peakRssKb: number | undefined;
      let cpuMs: number | undefined;
      if (options.measureRss) {
        const text = fs.existsSync(rssFile) ? fs.readFileSync(rssFile, 'utf8') : '';
        // GNU time writes "Command exited with non-zero status N" before the figures on failure.
        const figures = /^(\d+) ([\d.]+) ([\d.]+)$/m.exec(text);
        peakRssKb = figures ? Number(figures[1]) : undefined;
        cpuMs = figures ? Math.round((Number(figures[2]) + Number(figures[3])) * 1000) : undefined;
        fs.rmSync(rssFile, { force: true });
      }
      resolve({
        code,
        signal,
        wallMs,
        peakRssKb,
        cpuMs,
        spawnedAtEpochMs,
        stdout: Buffer.concat(output.stdout).toString(),
        stderr: Buffer.concat(output.stderr).toString(),
      });
    });
  });
}

/** Runs the preflight CLI. */
export function runPreflight(args: string[], options: RunOptions): Promise<RunResult> {
  return runNode(cliPath, args, options);
}

/** Throws with the child's output when it did not exit 0. */
export function expectSuccess(what: string, result: RunResult): RunResult {
  if (result.code !== 0) {
    const tail = (text: string) => text.split('\n').slice(-15).join('\n');
    throw new Error(
      `${what} exited with ${result.code ?? result.signal}\n--- stdout (end)\n${tail(result.stdout)}\n--- stderr (end)\n${tail(result.stderr)}`,
    );
  }
  return result;
}

/** Every stdout line that is a JSON object with an `event` field. */
export function events(result: RunResult): Array<Record<string, unknown>> {
  const found: Array<Record<string, unknown>> = [];
  for (const line of result.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (typeof parsed.event === 'string') found.push(parsed);
    } catch {
      // not a log event (a TypeORM query line, say): nothing to count
      continue;
    }
  }
  return found;
}

/** The smallest environment a child needs: no PREFLIGHT_* or npm_* variable leaks in. */
export function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? os.homedir() };
}

export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** Whether valgrind is installed: instruction counts are measured only then. */
export const hasValgrind = spawnSync('valgrind', ['--version'], { encoding: 'utf8' }).status === 0;

/**
 * User-space instructions a Node script executes, counted by valgrind's callgrind: deterministic
 * where wall and CPU times move with whatever else the machine runs (the counts of two runs differ
 * by well under 1%). Kernel and server time are not in it. Undefined without valgrind.
 */
export async function instructionCount(
  script: string,
  args: string[],
  options: RunOptions,
): Promise<number | undefined> {
  if (!hasValgrind) return undefined;
  const result = await runCommand(
    'valgrind',
    ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, script, ...args],
    { ...options, measureRss: false, timeoutMs: options.timeoutMs ?? 600_000 },
  );
  expectSuccess(`${path.basename(script)} under callgrind`, result);
  const collected = /Collected : (\d+)/.exec(result.stderr);
  if (!collected) throw new Error(`callgrind printed no instruction count:\n${result.stderr.slice(-2000)}`);
  return Number(collected[1]);
}
