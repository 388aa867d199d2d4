import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { REPO_DIR } from './demo';

const sdl = readFileSync(join(REPO_DIR, 'graphql', 'schema.graphql'), 'utf8');

/** Whether the checked-in SDL has a field (e.g. `lotPage(`, `iotAlerts`): views wait for their API. */
export function sdlHas(field: string): boolean {
  return new RegExp(`^\\s+${field}\\b`, 'm').test(sdl);
}
