// Jest loads global setup through Node's own loader, without the test transform or module mapping,
// so the TypeScript setup is loaded through tsx.
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const { setupRun } = await tsImport('./setup-run.ts', import.meta.url);
  await setupRun();
}
