import { parse as parseUrl } from 'pg-connection-string';

/**
 * libpq's connection strings, as libpq reads them: a `postgres://` / `postgresql://` URL or the
 * keyword=value form (`host=db port=5432 dbname=app`). Each host of a URL is decoded by
 * pg-connection-string (IPv6 brackets, `%2F` socket directories, percent-encoded user and
 * password); this module adds what that library lacks: multi-host URLs (`h1:5432,h2:5433`) and
 * the keyword=value form. The result is libpq's keywords with their raw values.
 */
export type Conninfo = Record<string, string>;

/** Keywords preflight understands; any other is a configuration error naming it. */
export const conninfoKeywords = [
  'host',
  'hostaddr',
  'port',
  'user',
  'password',
  'dbname',
  'sslmode',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'sslpassword',
  'application_name',
  'options',
  'connect_timeout',
  'target_session_attrs',
] as const;

export class ConninfoError extends Error {}

export function parseConninfo(text: string): Conninfo {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text.trim())?.[1];
  if (scheme === undefined) return fromKeywords(text);
  if (!/^postgres(ql)?$/i.test(scheme)) {
    throw new ConninfoError(`scheme must be postgres:// or postgresql:// (got ${scheme}://)`);
  }
  return fromUrl(text.trim());
}

function fromUrl(text: string): Conninfo {
  const scheme = text.indexOf('://') + 3;
  const authorityEnd = findFirst(text, ['/', '?', '#'], scheme);
  const authority = text.slice(scheme, authorityEnd);
  const rest = text.slice(authorityEnd);
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at + 1) : '';
  const hostList = authority.slice(at + 1);
  const query = rest.indexOf('?') >= 0 ? rest.slice(rest.indexOf('?') + 1).replace(/#.*$/, '') : '';
  const path = rest.replace(/[?#].*$/, '');
  const result: Conninfo = {};
  const hosts: string[] = [];
  const ports: string[] = [];
  // One URL per host for the library: it decodes brackets, %2F sockets and the userinfo.
  for (const hostPort of hostList === '' ? [''] : hostList.split(',')) {
    let parsed: ReturnType<typeof parseUrl>;
    try {
      parsed = parseUrl(`postgres://${userinfo}${hostPort}${path}`);
    } catch {
      throw new ConninfoError(`"${hostPort}" is not a host[:port] (URL form: postgres://user@host:5432/database)`);
    }
    hosts.push(parsed.host ?? '');
    ports.push(parsed.port ?? '');
    if (parsed.user) result.user = parsed.user;
    if (parsed.password) result.password = parsed.password;
    if (parsed.database) result.dbname = parsed.database;
  }
  if (hosts.some((host) => host !== '')) result.host = hosts.join(',');
  if (ports.some((port) => port !== '')) result.port = ports.join(',');
  for (const [key, value] of new URLSearchParams(query)) {
    if (key === 'ssl') throw new ConninfoError('parameter "ssl" is not libpq\'s: use sslmode=require (or verify-full)');
    result[key] = value;
  }
  return result;
}

function findFirst(text: string, needles: string[], from: number): number {
  const found = needles.map((needle) => text.indexOf(needle, from)).filter((index) => index >= 0);
  return found.length > 0 ? Math.min(...found) : text.length;
}

/** `key = value` pairs separated by whitespace; a value may be single-quoted, with \' and \\ escapes. */
function fromKeywords(text: string): Conninfo {
  const result: Conninfo = {};
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  for (skipSpace(); i < text.length; skipSpace()) {
    const keyStart = i;
    while (i < text.length && text[i] !== '=' && !/\s/.test(text[i])) i++;
    const key = text.slice(keyStart, i);
    skipSpace();
    if (text[i] !== '=') {
      throw new ConninfoError(
        `missing "=" after "${key}" (expected a URL or keyword=value pairs like host=db dbname=app)`,
      );
    }
    i++;
    skipSpace();
    let value = '';
    if (text[i] === "'") {
      i++;
      while (i < text.length && text[i] !== "'") {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        value += text[i++];
      }
      if (text[i] !== "'") throw new ConninfoError(`unterminated quoted value for "${key}"`);
      i++;
    } else {
      while (i < text.length && !/\s/.test(text[i])) {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        value += text[i++];
      }
    }
    result[key] = value;
  }
  return result;
}
