import { describe, expect, it } from 'vitest';
import { waitFor } from './wait.js';

describe('waitFor', () => {
  it('resolves with the first truthy value, checking again after a falsy one or a thrown error', async () => {
    let checks = 0;
    const value = await waitFor(
      () => {
        checks++;
        if (checks === 1) throw new Error('not yet');
        return checks === 3 && { checks };
      },
      { timeoutMs: 5_000, intervalMs: 1, description: 'three checks' },
    );
    expect(value).toEqual({ checks: 3 });
  });

  it('awaits an asynchronous condition', async () => {
    expect(await waitFor(async () => 'done', { timeoutMs: 5_000, description: 'a promise' })).toBe('done');
  });

  it('fails naming what it waited for and the last value seen', async () => {
    await expect(waitFor(() => 0, { timeoutMs: 30, intervalMs: 1, description: 'a count above zero' })).rejects.toThrow(
      'waited 30 ms for a count above zero; the last check gave 0',
    );
  });

  it('fails with the last error thrown as its cause', async () => {
    const last = new Error('still 503');
    const failure = await waitFor(
      () => {
        throw last;
      },
      { timeoutMs: 30, intervalMs: 1, description: 'the store back' },
    ).catch((err: Error) => err);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toBe('waited 30 ms for the store back; the last check threw Error: still 503');
    expect((failure as Error).cause).toBe(last);
  });

  it('fails on time also while a check never settles', async () => {
    await expect(waitFor(() => new Promise(() => undefined), { timeoutMs: 30, description: 'an answer' })).rejects.toThrow(
      'waited 30 ms for an answer; the first check was still running',
    );
  });
});
