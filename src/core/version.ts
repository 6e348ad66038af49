import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** This package's version, from the package.json beside dist/ (three levels up from dist/src/job). */
export const preflightVersion: string = (
  JSON.parse(readFileSync(resolve(__dirname, '../../../package.json'), 'utf8')) as { version: string }
).version;
