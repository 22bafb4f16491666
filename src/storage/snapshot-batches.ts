import type { SnapshotBatches } from './ports.js';

/**
 * A `SnapshotBatches` from an adapter's reads: `next` gives the following batch (empty when there
 * is no more) and `end` ends the snapshot; both run one at a time. The snapshot ends after the
 * last batch, on `close`, on a `break` out of the loop, and on an error (translated by `translate`).
 */
export function snapshotBatches<T>(total: number | null, next: () => Promise<T[]> | T[], end: () => Promise<void> | void, translate: (err: unknown) => unknown): SnapshotBatches<T> {
  let isEnded = false;
  let isIterated = false;
  const close = async () => {
    if (isEnded) return;
    isEnded = true;
    try {
      await end();
    } catch (err) {
      throw translate(err);
    }
  };
  return {
    total,
    close,
    [Symbol.asyncIterator]() {
      if (isIterated) throw new Error('a snapshot is iterated once');
      isIterated = true;
      return {
        async next(): Promise<IteratorResult<T[]>> {
          if (isEnded) return { done: true, value: undefined };
          let batch: T[];
          try {
            batch = await next();
          } catch (err) {
            await close().catch(() => undefined);
            throw translate(err);
          }
          if (batch.length > 0) return { done: false, value: batch };
          await close();
          return { done: true, value: undefined };
        },
        async return(): Promise<IteratorResult<T[]>> {
          await close();
          return { done: true, value: undefined };
        },
      };
    },
  };
}
