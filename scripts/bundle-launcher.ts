/**
 * dist/bundle/cli/preflight.js, the file the `preflight` command and the image run (scripts/bundle.mjs
 * puts it there): it turns a V8 code cache on, then loads the bundle, dist/bundle/cli/preflight-main.js.
 * It is the only file compiled without the cache, so it stays this small. As a library (`require`
 * of the package) it only hands over the bundle's exports: the cache is the CLI's, never the host's.
 *
 * - Node >= 22.1: `module.enableCompileCache()` (a folder under the temp dir) unless
 *   NODE_COMPILE_CACHE (the image bakes one) or NODE_DISABLE_COMPILE_CACHE says otherwise.
 * - Node 20, which has no compile cache: the same by hand for the bundle's own files (dist/bundle/**):
 *   each is compiled with `vm.Script` and the cached data of its previous run, and the cache is written
 *   when the process exits (after the run, so it holds the functions the run compiled lazily too).
 *   The folder: $NODE_COMPILE_CACHE/preflight-<node version>-<arch>, else a folder of this user's in
 *   the temp dir. A cache file is named after the SHA-1 of the source it was made from and starts with
 *   the SHA-1 of its own bytes; one that does not match, or that V8 rejects, is ignored and rewritten.
 *   Written as temp file + rename; a folder that cannot be written (read-only file system) means no
 *   cache, never a failed run. NODE_DEBUG=preflight_compile_cache reports what happened to each file.
 */
// `import x = require()`: compiled to plain requires, without tsc's interop helpers
import crypto = require('node:crypto');
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import util = require('node:util');
import vm = require('node:vm');

interface CommonJsModule {
  exports: unknown;
  require(id: string): unknown;
  _compile(content: string, filename: string, ...rest: unknown[]): unknown;
}
interface ModuleStatics {
  prototype: CommonJsModule;
  wrap(content: string): string;
  enableCompileCache?(directory?: string): unknown;
  _resolveFilename(request: string, parent: CommonJsModule, isMain: boolean, options?: unknown): string;
  _cache: unknown;
  _extensions: unknown;
}
const Module = require('node:module') as ModuleStatics;

const bundleDir = path.resolve(__dirname, '..');
const mainModule = require.main;
const debug = util.debuglog('preflight_compile_cache');
const sha1 = (data: string | Buffer) => crypto.createHash('sha1').update(data).digest();

function makeFolder(dir: string): void {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/** This user's folder in the temp dir, made private; undefined when it is not safely ours. */
function privateTempFolder(): string | undefined {
  const uid = process.getuid?.();
  const folder = path.join(os.tmpdir(), `preflight-compile-cache-${uid ?? os.userInfo().username}`);
  try {
    makeFolder(folder);
  } catch {
    return undefined;
  }
  const stat = fs.lstatSync(folder);
  // another user's folder (or a link to one) could feed this process code: not used
  if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o022) !== 0) return undefined;
  return folder;
}

function cacheFolder(): string | undefined {
  const base = process.env.NODE_COMPILE_CACHE || privateTempFolder();
  return base && path.join(base, `preflight-${process.version}-${process.arch}`);
}

function pruneOlderThan(folder: string, cutoffMs: number): void {
  try {
    for (const entry of fs.readdirSync(folder)) {
      const file = path.join(folder, entry);
      if (fs.statSync(file).mtimeMs < cutoffMs) fs.rmSync(file, { force: true });
    }
  } catch {
    // whatever is left is pruned by a later run
  }
}

/** Node 20: compiles the bundle's files with their cached data, and writes the cache on exit. */
function cacheBundleByHand(): void {
  const folder = cacheFolder();
  if (folder === undefined) return debug('no cache folder');
  // Code V8 restores from a code cache cannot import() (Node 20 loses its loader): the bundle's two
  // import() sites (src/postgres/migration-source.ts, TypeORM's ImportUtils, patched by bundle.mjs)
  // use this one, compiled here the ordinary way.
  Object.defineProperty(globalThis, Symbol.for('preflight.import'), {
    value: new Function('specifier', 'return import(specifier)'),
  });
  const toWrite: Array<{ script: vm.Script; file: string; name: string }> = [];
  const compile = Module.prototype._compile;
  Module.prototype._compile = function (this: CommonJsModule, content, filename, ...rest) {
    if (!filename.startsWith(bundleDir + path.sep)) return compile.call(this, content, filename, ...rest);
    const name = path.relative(bundleDir, filename);
    // The path is part of the key: Node 20's V8 keeps the file name a cache was made with in the
    // stack traces of the code it restores, so another install's cache would name the wrong files.
    const file = path.join(folder, `${sha1(`${filename}\0${content}`).toString('hex')}.cache`);
    let cachedData: Buffer | undefined;
    try {
      const stored = fs.readFileSync(file);
      if (stored.subarray(0, 20).equals(sha1(stored.subarray(20)))) cachedData = stored.subarray(20);
      else debug('%s: cache file corrupt, ignored', name);
    } catch {
      // none yet
    }
    const script = new vm.Script(Module.wrap(content.replace(/^#!.*/, '')), {
      filename,
      cachedData,
    });
    debug('%s: %s', name, cachedData === undefined ? 'no cache' : `cachedDataRejected ${script.cachedDataRejected}`);
    if (cachedData === undefined || script.cachedDataRejected) toWrite.push({ script, file, name });
    const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    const requireHere = Object.assign((id: string) => this.require(id), {
      resolve: (request: string, options?: unknown) => Module._resolveFilename(request, this, false, options),
      main: mainModule,
      cache: Module._cache,
      extensions: Module._extensions,
    });
    return wrapper.call(this.exports, this.exports, requireHere, this, filename, path.dirname(filename));
  };
  process.once('exit', () => {
    for (const { script, file, name } of toWrite) {
      const temporary = `${file}.${process.pid}.tmp`;
      try {
        // one level at a time: mkdirSync's `recursive` can spin forever on some file systems (/proc)
        for (const dir of [path.dirname(folder), folder]) makeFolder(dir);
        const data = script.createCachedData();
        fs.writeFileSync(temporary, Buffer.concat([sha1(data), data]), { mode: 0o600 });
        fs.renameSync(temporary, file);
        debug('%s: cache written', name);
      } catch (error) {
        try {
          fs.rmSync(temporary, { force: true });
        } catch {
          // read-only: nothing was written
        }
        debug('%s: cache not written: %s', name, (error as Error).message);
      }
    }
    // each build of the bundle has caches of its own: those left unwritten for a week go
    if (toWrite.length > 0) pruneOlderThan(folder, Date.now() - 7 * 24 * 3600 * 1000);
  });
}

if (mainModule === module) {
  try {
    if (typeof Module.enableCompileCache === 'function') {
      if (!process.env.NODE_COMPILE_CACHE && !process.env.NODE_DISABLE_COMPILE_CACHE) {
        Module.enableCompileCache(path.join(os.tmpdir(), 'preflight-compile-cache'));
      }
    } else if (!process.env.NODE_DISABLE_COMPILE_CACHE) {
      cacheBundleByHand();
    }
  } catch (error) {
    debug('no cache: %s', (error as Error).message);
  }
  (require('./preflight-main.js') as { run(): void }).run();
} else {
  module.exports = (require('./preflight-main.js') as { library(): unknown }).library();
}
