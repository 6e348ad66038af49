// Part of `npm run build`, after tsc: bundles the compiled CLI and library (dist/src) with every
// runtime dependency into CommonJS files under dist/bundle, which the package's `bin`, `main` and
// the image run. The installed package needs no runtime dependencies.
//
// Chunks: dist/bundle/cli/preflight-main.js holds preflight's own code and what every run needs (dotenv
// and pg-connection-string); each heavy package is a chunk of its own in dist/bundle/vendor/
// (typeorm, etcd3 with gRPC, yaml, ...), required only where preflight's code requires
// it, which is lazily (`await import()`): a no-op without etcd and Redis parses ~0.5 MiB instead of
// 3.3 MiB, and loads TypeORM only when a migration is pending. Chunks require each other by
// relative path (typeorm's chunk uses pg's), so every package exists once at run time.
//
// Layout: the bundle sits three folders below the package root, like dist/src/<layer>/*.js, because
// src/core/version.ts and src/config/index.ts find package.json, dist/migrations and fixtures/ at
// `${__dirname}/../../..`. etcd3 reads its protocol definition at run time from `${__dirname}/../proto`:
// dist/bundle/proto/rpc.json, its .proto files parsed at build time (the etcd3 chunk is in dist/bundle/vendor).
//
// Own migrations keep importing `typeorm` from their own project: they only hand objects (Table,
// TableColumn, ...) to the QueryRunner preflight gives them, and TypeORM recognises those across
// copies (InstanceChecker), which test/install/bundle-own-typeorm.test.ts proves for 0.3.x and 1.x.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const outDir = join(root, 'dist/bundle');
const outFile = join(outDir, 'cli/preflight-main.js');
const require = createRequire(join(root, 'package.json'));

// The bundle proper is dist/bundle/cli/preflight-main.js; dist/bundle/cli/preflight.js, the file that
// runs, is scripts/bundle-launcher.ts (compiled by tsc), which turns a V8 code cache on before it loads
// the bundle: `run()` the CLI, which then loads only what its command needs, or `library()`
// (src/index.ts). An ES module entry (`export {}`) is not wrapped by esbuild, so `module` here is the
// bundle file's own CommonJS module.
const launcherFile = join(outDir, 'cli/preflight.js');
const entry = `
export {};
module.exports = { run: () => require('./dist/src/cli/main.js'), library: () => require('./dist/src/index.js') };
`;

/**
 * Source patches for a Node-only bundle, each failing the build when its target text is gone:
 * - TypeORM loads its driver with `require(name)` (PlatformTools.load), which a bundler cannot
 *   follow: from the bundle it would find no pg, or the one in the working directory's
 *   node_modules. PostgreSQL is the only driver preflight uses, so that call gets a static
 *   `require("pg")`; every other name still goes to Node's require (a driver the user installed).
 * - pg probes for Cloudflare Workers when its stream module loads; on Node 20, which has no
 *   `navigator`, the probe constructs a `Response`, and that loads Node's whole fetch
 *   implementation (undici, ~140 ms of a no-op). The bundle only ever runs on Node.
 * - etcd3 parses its .proto files when it loads: the bundle ships them parsed (rpc.json, written
 *   below from the same files), and @grpc/proto-loader builds each message's descriptor object and
 *   every file's encoded FileDescriptorProto on demand instead of eagerly (~100 ms of every run with
 *   etcd): they serve gRPC reflection, which a gRPC client such as etcd3 never asks for.
 */
const patches = [
  {
    file: /[\\/]typeorm[\\/]platform[\\/]PlatformTools\.js$/,
    from: 'return require(name);',
    to: 'if (name === "pg") return require("pg");\nreturn require(name);',
  },
  {
    file: /[\\/]etcd3[\\/]lib[\\/]connection-pool\.js$/,
    from: '(0, proto_loader_1.loadSync)(`${__dirname}/../proto/rpc.proto`, {',
    to: '(0, proto_loader_1.fromJSON)(JSON.parse(require("fs").readFileSync(`${__dirname}/../proto/rpc.json`, "utf8")), {',
  },
  {
    file: /[\\/]@grpc[\\/]proto-loader[\\/]build[\\/]src[\\/]index\.js$/,
    skip: /[\\/]grpc-js[\\/]node_modules[\\/]/,
    from: `    const descriptorList = root.toDescriptor('proto3').file;
    const bufferList = descriptorList.map(value => Buffer.from(descriptor.FileDescriptorProto.encode(value).finish()));`,
    to: `    let encoded;
    const bufferList = () => (encoded ??= root.toDescriptor('proto3').file.map(value => Buffer.from(descriptor.FileDescriptorProto.encode(value).finish())));`,
  },
  ...['message', 'enumType'].map((kind) => ({
    file: /[\\/]@grpc[\\/]proto-loader[\\/]build[\\/]src[\\/]index\.js$/,
    // grpc-js's own older copy serves only its channelz reflection, which etcd3 never loads
    skip: /[\\/]grpc-js[\\/]node_modules[\\/]/,
    from: `    const ${kind === 'message' ? 'messageDescriptor' : 'enumDescriptor'} = ${kind}.toDescriptor('proto3');
    return {
        format: 'Protocol Buffer 3 ${kind === 'message' ? 'DescriptorProto' : 'EnumDescriptorProto'}',
        type: ${kind === 'message' ? 'messageDescriptor' : 'enumDescriptor'}.$type.toObject(${kind === 'message' ? 'messageDescriptor' : 'enumDescriptor'}, descriptorOptions),
        fileDescriptorProtos: fileDescriptors,
    };`,
    to: `    let type;
    return {
        format: 'Protocol Buffer 3 ${kind === 'message' ? 'DescriptorProto' : 'EnumDescriptorProto'}',
        get type() {
            if (type === undefined) { const described = ${kind}.toDescriptor('proto3'); type = described.$type.toObject(described, descriptorOptions); }
            return type;
        },
        get fileDescriptorProtos() { return fileDescriptors(); },
    };`,
  })),
  {
    // the launcher's import() on Node 20 (scripts/bundle-launcher.ts: code restored from a code cache cannot import())
    file: /[\\/]typeorm[\\/]util[\\/]ImportUtils\.js$/,
    from: 'await Function("return filePath => import(filePath)")()(',
    to: 'await (globalThis[Symbol.for("preflight.import")] ?? Function("return filePath => import(filePath)")())(',
  },
  {
    file: /[\\/]pg[\\/]lib[\\/]stream\.js$/,
    from: 'function isCloudflareRuntime() {',
    to: 'function isCloudflareRuntime() {\n  return false;',
  },
];
const nodeOnlyPatches = {
  name: 'node-only-patches',
  setup(build) {
    const filter = new RegExp(patches.map((patch) => patch.file.source).join('|'));
    build.onLoad({ filter }, ({ path }) => {
      let source = readFileSync(path, 'utf8');
      for (const patch of patches.filter((one) => one.file.test(path) && !one.skip?.test(path))) {
        if (!source.includes(patch.from))
          throw new Error(`${path}: no \`${patch.from}\` to patch; the package changed`);
        source = source.replace(patch.from, patch.to);
      }
      return { contents: source, loader: 'js' };
    });
  },
};

/** Packages that get a chunk of their own in dist/bundle/vendor, and are external to every other chunk. */
const chunks = ['pg', 'cockatiel', 'typeorm', 'etcd3', 'yaml', 'tinyglobby'];
const chunkFilter = new RegExp(`^(${chunks.join('|')})$`);

/** Rewrites a bare `require('<chunk package>')` to the chunk's file, relative to the file being built. */
function chunkRequires(fromDir) {
  return {
    name: 'chunk-requires',
    setup(build) {
      build.onResolve({ filter: chunkFilter }, ({ path }) => ({
        path: `${fromDir}/vendor/${path}.js`.replace(/^\.\/vendor\//, './'),
        external: true,
      }));
    },
  };
}

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // Whitespace and syntax only: identifiers stay readable in stack traces of an internal error.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'eof',
  // pg's optional native binding (pg-native): required only when asked for, never installed here.
  external: ['pg-native'],
  logLevel: 'warning',
  metafile: true,
};

rmSync(outDir, { recursive: true, force: true });
const main = await build({
  ...common,
  stdin: { contents: entry, resolveDir: root, sourcefile: 'preflight-bundle-entry.js', loader: 'js' },
  outfile: outFile,
  // The entry assigns the real module.exports on purpose (see `entry`).
  logOverride: { 'commonjs-variable-in-esm': 'silent' },
  plugins: [chunkRequires('..'), nodeOnlyPatches],
});
const built = [{ file: outFile, result: main }];
for (const name of chunks) {
  const file = join(outDir, 'vendor', `${name}.js`);
  const result = await build({
    ...common,
    stdin: {
      contents: `module.exports = require(${JSON.stringify(require.resolve(name))});`,
      resolveDir: root,
      sourcefile: `${name}-chunk-entry.js`,
      loader: 'js',
    },
    outfile: file,
    plugins: [chunkRequires('.'), nodeOnlyPatches],
  });
  built.push({ file, result });
}
writeFileSync(
  launcherFile,
  `#!/usr/bin/env node\n${readFileSync(join(root, 'dist/scripts/bundle-launcher.js'), 'utf8')}`,
);
const protoDir = join(dirname(require.resolve('etcd3/package.json')), 'proto');
mkdirSync(join(outDir, 'proto'), { recursive: true });
// The options etcd3's connection-pool.js passes to loadSync; keepCase matters to the parse itself.
const etcd3Require = createRequire(require.resolve('etcd3/package.json'));
const { loadProtosWithOptionsSync } = etcd3Require('@grpc/proto-loader/build/src/util');
const parsedProtos = loadProtosWithOptionsSync(join(protoDir, 'rpc.proto'), { keepCase: true });
writeFileSync(join(outDir, 'proto/rpc.json'), JSON.stringify(parsedProtos.toJSON()));

const mib = (bytes) => `${(bytes / 1048576).toFixed(2)} MiB`;
console.log(
  `preflight bundle: ${built
    .map(
      ({ file, result }) =>
        `${file.slice(outDir.length + 1)} ${mib(statSync(file).size)} (${Object.keys(result.metafile.inputs).length} modules)`,
    )
    .join(', ')}`,
);
