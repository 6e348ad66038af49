/**
 * dist/bundle/cli/preflight.js, the file the `preflight` command and the image run (scripts/bundle.mjs
 * puts it there): it makes compiling the bundle cheaper, then loads it (dist/bundle/cli/preflight-main.js).
 * As a library (`require` of the package) it only hands over the bundle's exports: what it changes
 * is the CLI's process, never a host program's.
 *
 * - Node >= 22.1: `module.enableCompileCache()` (a folder under the temp dir) unless
 *   NODE_COMPILE_CACHE (the image bakes one) or NODE_DISABLE_COMPILE_CACHE says otherwise.
 * - Node 20: the bundle's own files (dist/bundle/**) are compiled with `vm.Script` instead of Node 20's
 *   CommonJS compiler (`compileFunction`), which costs about twice as much for this code: the no-op
 *   ~30 ms less CPU, loading TypeORM ~60 ms less (issue 15). A V8 code cache on top (cached data kept
 *   in the temp dir) saved only 1-4 ms more and is not kept. NODE_DISABLE_COMPILE_CACHE turns this off;
 *   NODE_DEBUG=preflight_compile lists the files compiled so.
 */
// `import x = require()`: compiled to plain requires, without tsc's interop helpers
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
const debug = util.debuglog('preflight_compile');

/** Node 20: the bundle's files compiled with vm.Script, as CommonJS modules exactly as Node runs them. */
function compileBundleWithScript(): void {
  // A script compiled by vm has no loader for import(): the bundle's two import() sites
  // (src/postgres/migration-source.ts, TypeORM's ImportUtils, patched by bundle.mjs) use this one,
  // compiled here the ordinary way.
  Object.defineProperty(globalThis, Symbol.for('preflight.import'), {
    value: new Function('specifier', 'return import(specifier)'),
  });
  const compile = Module.prototype._compile;
  Module.prototype._compile = function (this: CommonJsModule, content, filename, ...rest) {
    if (!filename.startsWith(bundleDir + path.sep)) return compile.call(this, content, filename, ...rest);
    const script = new vm.Script(Module.wrap(content.replace(/^#!.*/, '')), { filename });
    debug('%s: compiled with vm.Script', path.relative(bundleDir, filename));
    const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    const requireHere = Object.assign((id: string) => this.require(id), {
      resolve: (request: string, options?: unknown) => Module._resolveFilename(request, this, false, options),
      main: mainModule,
      cache: Module._cache,
      extensions: Module._extensions,
    });
    return wrapper.call(this.exports, this.exports, requireHere, this, filename, path.dirname(filename));
  };
}

if (mainModule === module) {
  if (!process.env.NODE_DISABLE_COMPILE_CACHE) {
    if (typeof Module.enableCompileCache === 'function') {
      if (!process.env.NODE_COMPILE_CACHE) Module.enableCompileCache(path.join(os.tmpdir(), 'preflight-compile-cache'));
    } else {
      compileBundleWithScript();
    }
  }
  (require('./preflight-main.js') as { run(): void }).run();
} else {
  module.exports = (require('./preflight-main.js') as { library(): unknown }).library();
}
