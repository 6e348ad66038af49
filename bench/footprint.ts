/** 5. Production footprint: the packed tarball installed with --omit=dev, against typeorm + pg alone. */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { progress, repoRoot, scratchDir } from './process';

export interface InstallSize {
  /** what was installed */
  spec: string;
  /** apparent size of every file under node_modules (bytes) */
  bytes: number;
  /** disk usage in 1 KiB blocks (`du -sk`), which counts each small file as a whole block */
  diskKb: number;
  packages: number;
  /** every package, largest first; nested copies as `outer>inner` */
  bySize: Array<{ name: string; bytes: number }>;
  installMs: number;
}

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
  const version = (name: string) => (JSON.parse(fs.readFileSync(path.join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
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
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'footprint', version: '0.0.0', private: true }));
  const started = performance.now();
  await npm(['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...specs], dir);
  const installMs = performance.now() - started;
  const nodeModules = path.join(dir, 'node_modules');
  const bySize = packageSizes(nodeModules, '');
  const bytes = treeBytes(nodeModules);
  const diskKb = Number((await run('du', ['-sk', nodeModules], dir)).split(/\s/)[0]);
  return { spec: label, bytes, diskKb, packages: bySize.length, bySize: bySize.sort((a, b) => b.bytes - a.bytes), installMs };
}

/** Each package's own files (its nested node_modules counted separately, as `outer>inner`). */
function packageSizes(nodeModules: string, outer: string): Array<{ name: string; bytes: number }> {
  const sizes: Array<{ name: string; bytes: number }> = [];
  if (!fs.existsSync(nodeModules)) return sizes;
  const packageDirs: Array<{ name: string; dir: string }> = [];
  for (const entry of fs.readdirSync(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dir = path.join(nodeModules, entry.name);
    if (entry.name.startsWith('@')) {
      for (const scoped of fs.readdirSync(dir, { withFileTypes: true })) {
        if (scoped.isDirectory()) packageDirs.push({ name: `${entry.name}/${scoped.name}`, dir: path.join(dir, scoped.name) });
      }
    } else {
      packageDirs.push({ name: entry.name, dir });
    }
  }
  for (const { name, dir } of packageDirs) {
    const label = outer ? `${outer}>${name}` : name;
    sizes.push({ name: label, bytes: treeBytes(dir, true) });
    sizes.push(...packageSizes(path.join(dir, 'node_modules'), label));
  }
  return sizes;
}

/** Apparent size of every regular file below `dir` (symlinks not followed). */
function treeBytes(dir: string, skipNodeModules = false): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!(skipNodeModules && entry.name === 'node_modules')) total += treeBytes(full);
    } else if (entry.isFile()) {
      total += fs.lstatSync(full).size;
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
    child.once('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.trim()}`))));
  });
}
