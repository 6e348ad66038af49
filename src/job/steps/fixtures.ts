import type { FixtureFile } from '../../etcd/fixture-file';
import { requireExclusive, type Step } from './step';

/** Applies the etcd fixture files under ETCD_NAMESPACE; an unchanged file costs one read and no write. */
export const fixturesStep: Step<FixtureFile[], void> = {
  name: 'fixtures',
  async run(job, files) {
    const { config, log, etcd } = job;
    if (!etcd || !config.etcd)
      return { status: 'skipped', details: { reason: 'ETCD_ENDPOINTS not set' }, value: undefined };
    if (config.fixturesDir === null)
      return { status: 'skipped', details: { reason: 'fixtures off (PREFLIGHT_FIXTURES)' }, value: undefined };
    const { applyFixtures } = await import('../../etcd/apply-fixtures');
    const results = await applyFixtures(etcd, config.etcd.namespace, files, log, job.signal, (file) =>
      requireExclusive(job, `fixture file ${file} to apply`),
    );
    const changed = results.filter((result) => result.status === 'applied');
    return {
      status: changed.length > 0 ? 'applied' : 'unchanged',
      details: {
        files: results.length,
        changed: changed.map((result) => ({ file: result.file, puts: result.puts, deletes: result.deletes })),
      },
      value: undefined,
    };
  },
};
