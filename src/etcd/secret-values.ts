/**
 * Which fixture values `fixtures diff` and `run --dry-run` must not print. A value is secret when
 * its key's last segment looks like one (`password`, `secret`, `token`, `api_key`, ...) or when it
 * was substituted from a variable whose name looks like one (`${REDIS_PASSWORD}`,
 * `${STORAGE_PROXY_SECRET}`, `${API_TOKEN}`). Secret values print as `***`, before and after.
 */

const secretVariable = /PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|PRIVATE|(^|_)(API_|ACCESS_)?KEY($|_)/i;
const secretSegment =
  /(^|[-_.])pass(wd)?($|[-_.])|password|secret|token|credential|private[-_]?key|api[-_]?key|access[-_]?key/i;

/** True for a variable name such as `REDIS_PASSWORD`, `STORAGE_PROXY_SECRET` or `API_KEY`. */
export function isSecretVariable(name: string): boolean {
  return secretVariable.test(name);
}

/** True for a key (relative or full) whose last segment names a secret: `config/redis/password`. */
export function isSecretKey(key: string): boolean {
  const last = key.slice(key.lastIndexOf('/') + 1);
  let decoded = last;
  try {
    decoded = decodeURIComponent(last);
  } catch {
    // a key etcd holds that is not percent-encoding: test it as it is
  }
  return secretSegment.test(decoded);
}
