import type { TestProject } from 'vitest/node';

import { startDemo } from './demo';

/** One demo for the run; the examples share its chain. */
export default async function setup(project: TestProject) {
  const demo = await startDemo();
  project.provide('baseUrl', demo.baseUrl);
  return async () => {
    await demo.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
  }
}
