export const SDL_PATH: string;
export const OPERATIONS_DIR: string;
export const OUTPUT_PATH: string;
export function generateClient(): Promise<string>;
