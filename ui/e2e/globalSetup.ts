import { rmSync } from 'node:fs';

import type { TestProject } from 'vitest/node';

import { keepDemoLog, startDemo } from './demo';

/** One demo for the whole run: tests share its chain, in file order (fileParallelism is off). */
export default async function setup(project: TestProject) {
  const demo = await startDemo();
  project.provide('baseUrl', demo.baseUrl);
  project.provide('dataDir', demo.dataDir);
  project.provide('demoLog', demo.logFile);
  return async () => {
    await demo.stop();
    // A failed run keeps the demo's whole log beside the failure reports and prints its end.
    if (project.vitest.state.getCountOfFailedTests() > 0) {
      const kept = keepDemoLog(demo.logFile);
      const tail = demo.log().split('\n').slice(-80).join('\n');
      console.error(`\n--- scf demo log (all of it: ${kept}), last lines ---\n${tail}\n--- end of scf demo log ---`);
    }
    rmSync(demo.logFile, { force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
    /** The demo's data directory (its read model is `read-model.sqlite`). */
    dataDir: string;
    /** The file the demo's output goes to, while the run lasts (failure reports copy its end). */
    demoLog: string;
  }
}
