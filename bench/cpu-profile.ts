/**
 * Where a run's CPU time goes by package, from `node --cpu-prof` profiles. Inside the bundle's files
 * (dist/bundle/cli/preflight.js and its lazily required chunks in dist/bundle/vendor, scripts/bundle.mjs)
 * every CommonJS module is wrapped as `__commonJS({"node_modules/pg/lib/client.js"(...){`, and
 * esbuild keeps those path keys even with whitespace minified: a sampled function belongs to the
 * last wrapper that starts before it in its file. Outside the bundle the file path names the package.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ownerOf } from './startup-profile';
import { median } from './stats';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: CallFrame }>;
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface CpuSummary {
  runs: number;
  /** median profiled time (profiler start → stop) */
  profiledMs: number;
  /** modules the bundle files that ran wrap, found by their path keys (0 when the layout changed) */
  bundleModules: number;
  /** bundle files that ran code */
  bundleFiles: number;
  /** median self time per owner, largest first */
  byOwner: Array<{ owner: string; selfMs: number }>;
}

/** The bundle's module wrappers: start offsets and path keys, in file order; line starts for line/column. */
class BundleMap {
  private readonly lineStarts: number[] = [0];
  readonly starts: number[] = [];
  readonly keys: string[] = [];

  constructor(readonly file: string) {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) this.lineStarts.push(at + 1);
    for (const match of text.matchAll(/__(?:commonJS|esm)\(\{"([^"]+)"\(/g)) {
      this.starts.push(match.index);
      this.keys.push(match[1]);
    }
  }

  ownerAt(line: number, column: number): string {
    const offset = (this.lineStarts[line] ?? 0) + column;
    let low = 0;
    let high = this.starts.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (this.starts[middle] <= offset) {
        found = middle;
        low = middle + 1;
      } else high = middle - 1;
    }
    // Before the first wrapper: the top level and esbuild's require helper, whose samples include
    // V8 lazily compiling each module's body on its first require.
    return found < 0 ? 'bundle: top level, first require of each module (lazy compile)' : ownerOfKey(this.keys[found]);
  }
}

/** `node_modules/@grpc/grpc-js/build/src/x.js` → `@grpc/grpc-js`; `dist/src/job/x.js` → `preflight src/job`. */
export function ownerOfKey(key: string): string {
  const marker = 'node_modules/';
  const at = key.lastIndexOf(marker);
  if (at >= 0) {
    const parts = key.slice(at + marker.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const own = /^dist\/src\/([^/]+)\//.exec(key);
  if (own) return `preflight src/${own[1]}`;
  return `preflight ${path.dirname(key)}`;
}

/** One BundleMap per file under the bundle directory, read once. */
class BundleMaps {
  readonly maps = new Map<string, BundleMap>();

  constructor(private readonly dir: string | undefined) {}

  of(file: string): BundleMap | undefined {
    if (!this.dir || !file.startsWith(`${this.dir}${path.sep}`)) return undefined;
    let map = this.maps.get(file);
    if (!map) this.maps.set(file, (map = new BundleMap(file)));
    return map;
  }
}

function ownerOfFrame(frame: CallFrame, bundles: BundleMaps): string | undefined {
  switch (frame.functionName) {
    case '(root)':
      return undefined;
    case '(garbage collector)':
      return 'V8: garbage collection';
    case '(program)':
      return 'V8: (program): compiling, native code';
    case '(idle)':
      return 'idle: waiting on the stores and timers';
  }
  const { url } = frame;
  if (!url) return 'V8: built-ins';
  if (url.startsWith('node:')) {
    if (frame.functionName === 'wrapSafe') return 'V8: compiling module files (wrapSafe)';
    if (frame.functionName === 'compileForInternalLoader') return 'Node: loading its built-in modules';
    return url.startsWith('node:internal/modules') ? 'Node: module loader' : 'Node: internals';
  }
  const file = url.startsWith('file:') ? fileURLToPath(url) : url;
  return bundles.of(file)?.ownerAt(frame.lineNumber, frame.columnNumber) ?? ownerOf(file);
}

/**
 * Median self time per owner over the profiles (a profile without an owner counts 0 for it);
 * `bundleDir`: where the bundle's files are (dist/bundle), for a run of the bundle.
 */
export function summariseCpuProfiles(files: readonly string[], bundleDir?: string): CpuSummary {
  const bundles = new BundleMaps(bundleDir);
  const perOwner = new Map<string, number[]>();
  const profiled: number[] = [];
  files.forEach((file, run) => {
    const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
    const ownerOfNode = new Map(profile.nodes.map((node) => [node.id, ownerOfFrame(node.callFrame, bundles)]));
    const self = new Map<string, number>();
    // timeDeltas[i] is the time before sample i: sample i lasts until sample i + 1.
    profile.samples.forEach((id, index) => {
      const owner = ownerOfNode.get(id);
      const micros = profile.timeDeltas[index + 1] ?? 0;
      if (owner) self.set(owner, (self.get(owner) ?? 0) + micros / 1000);
    });
    for (const [owner, value] of self) {
      const list = perOwner.get(owner) ?? [];
      list[run] = value;
      perOwner.set(owner, list);
    }
    profiled.push((profile.endTime - profile.startTime) / 1000);
  });
  const byOwner = [...perOwner].map(([owner, values]) => ({
    owner,
    selfMs: median(Array.from({ length: files.length }, (_, run) => values[run] ?? 0)),
  }));
  return {
    runs: files.length,
    profiledMs: median(profiled),
    bundleModules: [...bundles.maps.values()].reduce((sum, map) => sum + map.starts.length, 0),
    bundleFiles: bundles.maps.size,
    byOwner: byOwner.sort((a, b) => b.selfMs - a.selfMs),
  };
}
