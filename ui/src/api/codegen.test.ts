import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { generateClient, OUTPUT_PATH } from '../../scripts/codegen.mjs';

describe('generated GraphQL client', () => {
  it('is up to date with graphql/schema.graphql and src/api/operations (run `npm run codegen`)', async () => {
    const expected = await generateClient();
    const actual = readFileSync(OUTPUT_PATH, 'utf8');
    expect(actual === expected, 'src/api/generated.ts is stale: run `npm run codegen` and commit it').toBe(true);
  });
});
