import { escapeLiteral } from 'pg';

/**
 * A value written into SQL text, for the statements the executor sends several at a time in one
 * simple-query round trip (which cannot carry parameters): strings quoted by node-postgres'
 * `escapeLiteral` (quotes doubled; backslashes doubled in an E'' string, so the result does not
 * depend on standard_conforming_strings), integers only as safe integers, negative ones in
 * parentheses (so no `--` can ever start a comment), and NULL for null.
 */
export function sqlLiteral(value: string | number | boolean | null): string {
  if (value === null) return 'NULL';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`not a safe integer for SQL: ${value}`);
    return value < 0 ? `(${value})` : String(value);
  }
  if (typeof value !== 'string') throw new TypeError(`not a SQL literal: ${typeof value}`);
  // PostgreSQL text cannot hold NUL; a parameter would be refused too.
  if (value.includes('\0')) throw new TypeError('a NUL character cannot be written to PostgreSQL text');
  return escapeLiteral(value).trim();
}
