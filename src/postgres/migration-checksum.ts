import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** A migration's checksums: of its source where it can be found, and of its compiled file. */
export interface MigrationChecksum {
  /** what the ledger records: of the TypeScript source when available, else of the compiled file */
  checksum: string;
  /** of the compiled file: a change here alone is a toolchain change, not an edit */
  compiledChecksum: string;
  /** where `checksum` comes from */
  checksumFrom: 'source' | 'compiled';
}

/**
 * Checksum of a migration's text, insensitive to what editors and checkouts change without
 * changing meaning: line endings, trailing spaces, a trailing newline, a byte-order mark.
 */
export function textChecksum(text: string): string {
  const unmarked = text.replace(/^\uFEFF/, '');
  // Most files have no carriage return and no trailing space on any line but the last: then only
  // the end needs trimming (the same result as the line-by-line pass, at a fraction of its cost).
  const normalised =
    !unmarked.includes('\r') && !/[^\S\n]\n/.test(unmarked)
      ? unmarked.trimEnd()
      : unmarked
          .replace(/\r\n?/g, '\n')
          .split('\n')
          .map((line) => line.trimEnd())
          .join('\n')
          .trimEnd();
  return createHash('sha256').update(normalised).digest('hex');
}

/**
 * Checksums of a compiled migration file. The source is `sourceFile` when given (the build knows
 * it), else what the file's source map points at (its `sourcesContent`, or the `.ts` file it
 * names): so a new compiler or tsconfig target, which changes only the compiled output, is no edit.
 */
export async function migrationChecksum(file: string, sourceFile?: string): Promise<MigrationChecksum> {
  // Synchronous reads: for hundreds of small files far cheaper than a promise and a file handle each.
  const compiled = readFileSync(file, 'utf8');
  const compiledChecksum = textChecksum(compiled);
  const source = sourceFile !== undefined ? readFileSync(sourceFile, 'utf8') : sourceFromMap(file, compiled);
  return source === undefined
    ? { checksum: compiledChecksum, compiledChecksum, checksumFrom: 'compiled' }
    : { checksum: textChecksum(source), compiledChecksum, checksumFrom: 'source' };
}

interface SourceMap {
  sources?: string[];
  sourcesContent?: Array<string | null>;
  sourceRoot?: string;
}

/** The original source through `//# sourceMappingURL=` (a file or an inline data URL); undefined when there is none. */
function sourceFromMap(file: string, compiled: string): string | undefined {
  const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(compiled)?.[1];
  if (url === undefined) return undefined;
  let map: SourceMap;
  let mapDir = dirname(file);
  try {
    const inline = /^data:application\/json;(?:charset=utf-8;)?base64,(.*)$/.exec(url);
    if (inline) {
      map = JSON.parse(Buffer.from(inline[1], 'base64').toString('utf8')) as SourceMap;
    } else {
      const mapFile = resolve(mapDir, decodeURIComponent(url));
      map = JSON.parse(readFileSync(mapFile, 'utf8')) as SourceMap;
      mapDir = dirname(mapFile);
    }
  } catch {
    // A missing or broken map only means the compiled file is what we can checksum.
    return undefined;
  }
  if (map.sources?.length !== 1) return undefined;
  if (typeof map.sourcesContent?.[0] === 'string') return map.sourcesContent[0];
  try {
    return readFileSync(resolve(mapDir, map.sourceRoot ?? '', map.sources[0]), 'utf8');
  } catch {
    return undefined;
  }
}
