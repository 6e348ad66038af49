/**
 * 5. Production footprint: the packed tarball (`npm pack` of this build) installed with --omit=dev
 * into an empty project, against typeorm + pg alone. The package has no runtime dependencies (the
 * CLI is one bundle), so its install is the package itself.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { progress, repoRoot, scratchDir } from './process';

/** Bytes two ways: apparent (file lengths) and on disk (allocated blocks, what `du` counts). */
export interface Size {
  apparent: number;
  disk: number;
}

export interface InstallSize {
  /** what was installed */
  spec: string;
  /** everything under node_modules, directories included on disk, as `du -s` counts */
  total: Size;
  packages: number;
  /** every package, largest on disk first; nested copies as `outer>inner` */
  bySize: Array<{ name: string; size: Size }>;
  /** source maps, type declarations and the rest: what an image build could prune */
  byKind: Record<FileKind, Size>;
  /** the largest files under node_modules, relative to it */
  largestFiles: Array<{ file: string; size: Size }>;
  installMs: number;
}

type FileKind =
  | 'source maps (*.map)'
  | 'type declarations (*.d.ts)'
  | 'TypeScript sources (*.ts)'
  | 'docs (*.md)'
  | 'everything else';

export interface FootprintResult {
  tarball: { file: string; bytes: number; files: number };
  preflight: InstallSize;
  baseline: InstallSize;
}

export async function footprintBench(): Promise<FootprintResult> {
  const dir = path.join(scratchDir(), 'footprint');
  fs.mkdirSync(dir, { recursive: true });
  progress('footprint: npm pack');
  const packed = await npm(['pack', '--pack-destination', dir, '--ignore-scripts', '--json'], repoRoot);
  const [pack] = JSON.parse(packed) as Array<{ filename: string; size: number; entryCount: number }>;
  const tarball = path.join(dir, pack.filename);
  const version = (name: string) =>
    (
      JSON.parse(fs.readFileSync(path.join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  const baselineSpecs = [`typeorm@${version('typeorm')}`, `pg@${version('pg')}`];
  progress(`footprint: npm install --omit=dev of ${pack.filename} and of ${baselineSpecs.join(' + ')} (in parallel)`);
  const [preflight, baseline] = await Promise.all([
    install(path.join(dir, 'preflight'), [tarball], pack.filename),
    install(path.join(dir, 'baseline'), baselineSpecs, baselineSpecs.join(' + ')),
  ]);
  return { tarball: { file: pack.filename, bytes: pack.size, files: pack.entryCount }, preflight, baseline };
}

async function install(dir: string, specs: string[], label: string): Promise<InstallSize> {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'footprint', version: '0.0.0', private: true }),
  );
  const started = performance.now();
  await npm(
    [
      'install',
      '--omit=dev',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--loglevel=error',
      ...specs,
    ],
    dir,
  );
  const installMs = performance.now() - started;
  const nodeModules = path.join(dir, 'node_modules');
  const byKind = emptyKinds();
  const total = treeSize(nodeModules, { byKind });
  const bySize = packageSizes(nodeModules, '');
  return {
    spec: label,
    total,
    packages: bySize.length,
    bySize: bySize.sort((a, b) => b.size.disk - a.size.disk),
    byKind,
    largestFiles: largestFiles(nodeModules, 8),
    installMs,
  };
}

function largestFiles(root: string, count: number): Array<{ file: string; size: Size }> {
  const files: Array<{ file: string; size: Size }> = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const stat = fs.lstatSync(full);
        files.push({ file: path.relative(root, full), size: { apparent: stat.size, disk: stat.blocks * 512 } });
      }
    }
  };
  if (fs.existsSync(root)) walk(root);
  return files.sort((a, b) => b.size.disk - a.size.disk).slice(0, count);
}

function emptyKinds(): Record<FileKind, Size> {
  const kinds: FileKind[] = [
    'source maps (*.map)',
    'type declarations (*.d.ts)',
    'TypeScript sources (*.ts)',
    'docs (*.md)',
    'everything else',
  ];
  return Object.fromEntries(kinds.map((kind) => [kind, { apparent: 0, disk: 0 }])) as Record<FileKind, Size>;
}

function kindOf(name: string): FileKind {
  if (name.endsWith('.map')) return 'source maps (*.map)';
  if (/\.d\.[cm]?ts$/.test(name)) return 'type declarations (*.d.ts)';
  if (/\.[cm]?ts$/.test(name)) return 'TypeScript sources (*.ts)';
  if (/\.md$/i.test(name)) return 'docs (*.md)';
  return 'everything else';
}

/** Each package's own files (its nested node_modules counted separately, as `outer>inner`). */
function packageSizes(nodeModules: string, outer: string): Array<{ name: string; size: Size }> {
  const sizes: Array<{ name: string; size: Size }> = [];
  if (!fs.existsSync(nodeModules)) return sizes;
  const packageDirs: Array<{ name: string; dir: string }> = [];
  for (const entry of fs.readdirSync(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dir = path.join(nodeModules, entry.name);
    if (entry.name.startsWith('@')) {
      for (const scoped of fs.readdirSync(dir, { withFileTypes: true })) {
        if (scoped.isDirectory())
          packageDirs.push({ name: `${entry.name}/${scoped.name}`, dir: path.join(dir, scoped.name) });
      }
    } else {
      packageDirs.push({ name: entry.name, dir });
    }
  }
  for (const { name, dir } of packageDirs) {
    const label = outer ? `${outer}>${name}` : name;
    sizes.push({ name: label, size: treeSize(dir, { skipNodeModules: true }) });
    sizes.push(...packageSizes(path.join(dir, 'node_modules'), label));
  }
  return sizes;
}

/** Every file and directory below `dir`, itself included (symlinks not followed). */
function treeSize(dir: string, options: { skipNodeModules?: boolean; byKind?: Record<FileKind, Size> }): Size {
  const own = fs.lstatSync(dir);
  const total: Size = { apparent: 0, disk: own.blocks * 512 };
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (options.skipNodeModules && entry.name === 'node_modules') continue;
      const below = treeSize(full, { byKind: options.byKind });
      total.apparent += below.apparent;
      total.disk += below.disk;
    } else {
      const stat = fs.lstatSync(full);
      total.apparent += stat.size;
      total.disk += stat.blocks * 512;
      const kind = options.byKind?.[kindOf(entry.name)];
      if (kind) {
        kind.apparent += stat.size;
        kind.disk += stat.blocks * 512;
      }
    }
  }
  return total;
}

function npm(args: string[], cwd: string): Promise<string> {
  return run('npm', args, cwd);
}

function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // npm_* variables from `npm run bench` (npm_config_omit, say) must not change these installs.
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0
        ? resolve(stdout)
        : reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.trim()}`)),
    );
  });
}
