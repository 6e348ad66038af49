import { isWithin } from './key-path';
import type { FixtureProblem, ParsedFixture } from './parse-fixture';

/**
 * Checks that need every file at once. Files are applied one by one and each is skipped while its
 * own hash is unchanged, so two files must never own the same key (the later one would win only
 * until the earlier one changed), and no key may lie under a `replace` file's prefix unless that
 * file lists it (the replace would delete it, and the other file, being unchanged, would never
 * put it back).
 */
export function checkOverlaps(files: readonly ParsedFixture[], problems: FixtureProblem[]): void {
  const owners = new Map<string, ParsedFixture>();
  for (const fixture of files) {
    for (const [key, entry] of fixture.entries) {
      const owner = owners.get(key);
      if (owner === undefined) {
        owners.set(key, fixture);
        continue;
      }
      const first = owner.where(owner.entries.get(key)?.offset ?? 0);
      problems.push({
        kind: 'data',
        text: `${fixture.where(entry.offset)}: key ${key} is also defined in ${first}: define it in one file only`,
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
}
