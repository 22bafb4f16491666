import { inspect } from 'node:util';

export interface WaitOptions {
  /** How long the condition has to come true: a bound for a broken build, never a measurement. */
  timeoutMs: number;
  /** Time between two checks (20 ms unless given). */
  intervalMs?: number;
  /** What is waited for, as the timeout's error names it: "the write applied". */
  description: string;
}

type Truthy<T> = Exclude<Awaited<T>, false | 0 | '' | null | undefined>;

/**
 * The one way tests wait: checks `condition` until it returns (or resolves to) a truthy value, and
 * resolves with that value. A check that throws counts as not yet, so an `expect` can be the
 * condition (end it with `return true`). Once `timeoutMs` has passed, also while a check is still
 * running, it throws an Error that names `description` and the last value seen, with the last
 * error thrown as its `cause`.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, { timeoutMs, intervalMs = 20, description }: WaitOptions): Promise<Truthy<T>> {
  const seen: { last: { value: unknown } | { error: unknown } | null } = { last: null };
  let timer: NodeJS.Timeout | undefined;
  const timedOut = Symbol('timed out');
  const deadline = new Promise<typeof timedOut>((resolve) => (timer = setTimeout(() => resolve(timedOut), timeoutMs)));
  const pause = () => new Promise<void>((resolve) => setTimeout(resolve, intervalMs));
  try {
    for (;;) {
      const check = (async () => {
        try {
          const value = await condition();
          seen.last = { value };
          return value;
        } catch (error) {
          seen.last = { error };
          return undefined;
        }
      })();
      const value = await Promise.race([check, deadline]);
      if (value === timedOut) break;
      if (value) return value as Truthy<T>;
      if ((await Promise.race([pause(), deadline])) === timedOut) break;
    }
  } finally {
    clearTimeout(timer);
  }
  const { last } = seen;
  const what = last === null ? 'the first check was still running' : 'error' in last ? `the last check threw ${String(last.error)}` : `the last check gave ${inspect(last.value, { depth: 4, breakLength: Infinity })}`;
  throw new Error(`waited ${timeoutMs} ms for ${description}; ${what}`, last !== null && 'error' in last ? { cause: last.error } : undefined);
}
