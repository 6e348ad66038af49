/** Where the server binaries are on this machine; scripts/ensure-deps.sh installs them if missing. */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The newest /usr/lib/postgresql/<version>/bin, else the directory of `initdb` on PATH. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs.readdirSync(root).filter((name) => fs.existsSync(path.join(root, name, 'bin', 'initdb')))
    : [];
  versions.sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  if (versions.length > 0) return path.join(root, versions[0], 'bin');
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (which.status === 0) return path.dirname(fs.realpathSync(which.stdout.trim()));
  throw new Error(
    'PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH); run scripts/ensure-deps.sh',
  );
}

/** Debian's etcd-server installs to /usr/bin, which a minimal PATH may lack. */
export function etcdBinary(): string {
  return fs.existsSync('/usr/bin/etcd') ? '/usr/bin/etcd' : 'etcd';
}

let noFsyncSupport: boolean | undefined;
/** Not every etcd build has --unsafe-no-fsync (Debian's 3.4.23 does not), and etcd refuses unknown flags. */
export function etcdSupportsNoFsync(): boolean {
  if (noFsyncSupport === undefined) {
    const help = spawnSync(etcdBinary(), ['--help'], { encoding: 'utf8' });
    noFsyncSupport = `${help.stdout}${help.stderr}`.includes('--unsafe-no-fsync');
  }
  return noFsyncSupport;
}

/** The unprivileged user PostgreSQL runs as when we are root (it refuses to run as root). */
export function nobody(): { uid: number; gid: number } {
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}
