import { afterAll, expect } from 'vitest';
import { takeUndocumented } from './documented-answers.js';

// Registered first, so it runs after the test file's own afterAll hooks have stopped its servers.
afterAll(() => {
  expect(takeUndocumented(), 'answers the test servers gave that /openapi.json does not document for their operation (status, Content-Type or body)').toEqual([]);
});
