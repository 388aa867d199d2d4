import type { TestProject } from 'vitest/node';

import { startDemo } from './demo';

/** One demo for the whole run: tests share its chain, in file order (fileParallelism is off). */
export default async function setup(project: TestProject) {
  const demo = await startDemo();
  project.provide('baseUrl', demo.baseUrl);
  project.provide('dataDir', demo.dataDir);
  return async () => {
    await demo.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
    /** The demo's data directory (its read model is `read-model.sqlite`). */
    dataDir: string;
  }
}
