import { isWithin } from './key-path';
import type { FixtureProblem, ParsedFixture } from './parse-fixture';

/** A key a later file with `override: true` takes over from an earlier file. */
export interface FixtureOverride {
  /** the overriding file */
  file: string;
  /** the key, relative to the namespace */
  key: string;
  /** the file that set the key before */
  earlier: string;
}

/**
 * Checks that need every file at once. Files are applied one by one and each is skipped while its
 * own hash is unchanged, so a key has exactly ONE owner: two files may not define it unless the
 * later one says `override: true`, and then the later file owns it and the earlier file drops it
 * from what it writes (`overridden`: it neither puts it nor, in mode replace, deletes it). Otherwise
 * the earlier file would put its value back whenever it changed. No key may lie under a `replace`
 * file's prefix unless that file lists it (the replace would delete it, and the other file, being
 * unchanged, would never put it back).
 */
export function checkOverlaps(
  files: readonly ParsedFixture[],
  problems: FixtureProblem[],
): { overrides: FixtureOverride[]; overridden: Map<ParsedFixture, Set<string>> } {
  const owners = new Map<string, ParsedFixture>();
  const overrides: FixtureOverride[] = [];
  const overridden = new Map<ParsedFixture, Set<string>>();
  for (const fixture of files) {
    for (const [key, entry] of fixture.entries) {
      const owner = owners.get(key);
      if (owner === undefined) {
        owners.set(key, fixture);
        continue;
      }
      if (fixture.override) {
        owners.set(key, fixture);
        overrides.push({ file: fixture.file, key, earlier: owner.file });
        const dropped = overridden.get(owner) ?? new Set<string>();
        overridden.set(owner, dropped.add(key));
        continue;
      }
      const first = owner.where(owner.entries.get(key)?.offset ?? 0);
      problems.push({
        kind: 'data',
        text:
          `${fixture.where(entry.offset)}: key ${key} is also defined in ${first}: define it in one file only, ` +
          `or add override: true to ${fixture.file}`,
      });
    }
  }

  for (const replacing of files.filter((fixture) => fixture.mode === 'replace')) {
    for (const other of files) {
      if (other === replacing) continue;
      for (const [key, entry] of other.entries) {
        if (!isWithin(key, replacing.prefix) || replacing.entries.has(key)) continue;
        problems.push({
          kind: 'data',
          text:
            `${other.where(entry.offset)}: key ${key} lies under prefix "${replacing.prefix}" of ${replacing.path}, ` +
            `whose mode replace would delete it: move the key into ${replacing.file} or use mode merge there`,
        });
      }
    }
  }
  return { overrides, overridden };
}
