/**
 * Preloaded with `node -r dist/bench/load-hook.js`: records how long every CommonJS module takes to
 * load (read, compile and run its top level, including what it requires), and writes the records
 * to BENCH_LOAD_PROFILE as JSON when the process exits.
 *
 * It wraps Module.prototype.load, which runs once per module actually loaded (never for a cache
 * hit or a built-in). Inclusive time covers nested loads; self time is inclusive minus the
 * inclusive time of the modules it loaded. Resolving a nested require's path is counted in the
 * requiring module's self time. TypeScript compiles preflight's `await import('x')` to `require`,
 * so lazy imports show up too.
 */
import * as fs from 'node:fs';
import Module from 'node:module';

export interface LoadRecord {
  file: string;
  /** the module that required it, when known */
  parent?: string;
  /** ms since the process started (performance.timeOrigin) */
  startMs: number;
  inclusiveMs: number;
  selfMs: number;
  /** 0 for a load that no other recorded load contains */
  depth: number;
}

export interface LoadProfile {
  /** performance.timeOrigin: the process start as epoch ms, to place log timestamps */
  timeOriginEpochMs: number;
  /** ms from process start until this hook ran: Node's own bootstrap */
  hookLoadedMs: number;
  /** ms from process start until the 'exit' event */
  exitMs: number;
  records: LoadRecord[];
}

interface LoadableModule {
  parent?: { filename?: string } | null;
  load(this: LoadableModule, filename: string): void;
}

const output = process.env.BENCH_LOAD_PROFILE;
if (output) {
  const hookLoadedMs = performance.now();
  const records: LoadRecord[] = [];
  const frames: Array<{ childMs: number }> = [];
  const prototype = Module.prototype as unknown as LoadableModule;
  const originalLoad = prototype.load;
  prototype.load = function load(this: LoadableModule, filename: string): void {
    const frame = { childMs: 0 };
    const depth = frames.length;
    frames.push(frame);
    const startMs = performance.now();
    try {
      originalLoad.call(this, filename);
    } finally {
      const inclusiveMs = performance.now() - startMs;
      frames.pop();
      if (frames.length > 0) frames[frames.length - 1].childMs += inclusiveMs;
      records.push({
        file: filename,
        parent: this.parent?.filename ?? undefined,
        startMs,
        inclusiveMs,
        selfMs: inclusiveMs - frame.childMs,
        depth,
      });
    }
  };
  process.on('exit', () => {
    const profile: LoadProfile = {
      timeOriginEpochMs: performance.timeOrigin,
      hookLoadedMs,
      exitMs: performance.now(),
      records,
    };
    fs.writeFileSync(output, JSON.stringify(profile));
  });
}
