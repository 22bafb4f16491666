import { existsSync } from 'node:fs';

/**
 * A worker thread's compiled entry, by its path under `src/` with a `.js` name. Compiled, this
 * module sits at the root of `dist/` beside the entry; run from the sources (the tests), it takes
 * the entry from `dist/`, which `npm test` builds first.
 */
export function threadEntry(path: string): URL {
  const beside = new URL(`./${path}`, import.meta.url);
  return existsSync(beside) ? beside : new URL(`../dist/${path}`, import.meta.url);
}
