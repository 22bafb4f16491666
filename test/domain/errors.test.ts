import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_CODES } from '../../src/domain/errors.js';

const ROW = /^\| `(\d{4})` \| (\d{3}) \| (.+?) \| (.+?) \|$/;

describe('docs/errors.md', () => {
  const rows = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')
    .split('\n')
    .map((line) => ROW.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(([, code, status, description, meaning]) => ({ code, status: Number(status), description, meaning }));

  it('lists exactly the codes of the registry, in order, with the same status, description and meaning', () => {
    const registry = Object.entries(API_CODES).map(([code, e]) => ({ code, status: e.httpStatus, description: e.description, meaning: e.meaning }));
    expect(rows).toEqual(registry);
  });
});
