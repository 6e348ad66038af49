import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The CLI as it ships: the single-file bundle scripts/bundle.mjs builds from dist/src (found
 * relative to this compiled file, dist/test/support/ → dist/bundle/cli/).
 */
export const cliPath = path.resolve(__dirname, '../../bundle/cli/preflight.js');

export interface CliOptions {
  /** working directory; default: a fresh temp dir, deleted after the run */
  cwd?: string;
  /** SIGKILL the child after this long; default 60 000 */
  timeoutMs?: number;
  /** called right after spawning, e.g. to send a signal once some output appears */
  onSpawn?(child: ChildProcess): void;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** true when the child was killed because it outlived timeoutMs */
  timedOut: boolean;
  /** every stdout/stderr line that parses as a JSON object, in arrival order */
  lines: Array<Record<string, unknown>>;
}

const liveChildren = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let exitHookInstalled = false;

/** A CLI left running by a failed test must not outlive the test process and hold locks. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of liveChildren) child.kill('SIGKILL');
    for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  });
}

/** A fresh temp dir, removed when this process exits (for cwd, secrets or report files). */
export function tempDir(prefix = 'preflight-test-'): string {
  installExitHook();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/**
 * Starts `node dist/bundle/cli/preflight.js ...args` with exactly `env` (nothing inherited) and returns
 * the child at once, for tests that signal it, plus the eventual result.
 */
export function spawnCli(
  args: string[],
  env: Record<string, string>,
  opts: CliOptions = {},
): { child: ChildProcess; result: Promise<CliResult> } {
  installExitHook();
  const ownCwd = opts.cwd === undefined;
  const cwd = opts.cwd ?? tempDir('preflight-cli-');
  const startedAt = Date.now();
  const child = spawn(process.execPath, [cliPath, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  liveChildren.add(child);
  const output = { stdout: '', stderr: '' };
  const lines: Array<Record<string, unknown>> = [];
  const pending = { stdout: '', stderr: '' };
  const collect =
    (stream: 'stdout' | 'stderr') =>
    (chunk: Buffer): void => {
      const text = chunk.toString();
      output[stream] += text;
      const parts = (pending[stream] + text).split('\n');
      pending[stream] = parts.pop() ?? '';
      for (const line of parts) pushJson(lines, line);
    };
  child.stdout?.on('data', collect('stdout'));
  child.stderr?.on('data', collect('stderr'));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? 60_000);
  opts.onSpawn?.(child);

  const result = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      pushJson(lines, pending.stdout);
      pushJson(lines, pending.stderr);
      if (ownCwd) {
        fs.rmSync(cwd, { recursive: true, force: true });
        tempDirs.delete(cwd);
      }
      const cliResult: CliResult = { code, signal, ...output, durationMs: Date.now() - startedAt, timedOut, lines };
      capture(args, cliResult).then(() => resolve(cliResult), reject);
    });
  });
  return { child, result };
}

export function runCli(args: string[], env: Record<string, string>, opts?: CliOptions): Promise<CliResult> {
  return spawnCli(args, env, opts).result;
}

function pushJson(lines: Array<Record<string, unknown>>, line: string): void {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
      lines.push(parsed as Record<string, unknown>);
  } catch (error) {
    // A line that merely starts with '{' (pretty logs, stack traces) is not an event; skip it.
    if (!(error instanceof SyntaxError)) throw error;
  }
}

/** Everything a CLI printed goes where run-tests scans for leaked passwords after the run. */
async function capture(args: string[], result: CliResult): Promise<void> {
  const dir = process.env.PREFLIGHT_TEST_CAPTURE_DIR;
  if (!dir) return;
  const header = `=== preflight ${args.join(' ')} → code ${result.code} signal ${result.signal} (${result.durationMs} ms)`;
  const text = `${header}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}\n`;
  await fs.promises.appendFile(path.join(dir, `cli-${process.pid}.log`), text);
}
