/** The etcd side of preflight: connect, load and validate fixture files, plan and apply them. */
export { connectEtcd, pingEtcd, type EtcdSettings } from './client';
export { loadFixtureFiles, type FixtureFile, type FixtureMode } from './fixture-file';
export {
  applyFixtures,
  planFixtures,
  type FixtureChange,
  type FixtureFilePlan,
  type FixtureFileResult,
  type FixturePlan,
} from './apply-fixtures';
export { encodeSegment } from './key-path';
export type { Environment } from './substitute';
