import { tsImport } from 'tsx/esm/api';

export default async function globalTeardown() {
  const { teardownRun } = await tsImport('./teardown-run.ts', import.meta.url);
  await teardownRun();
}
