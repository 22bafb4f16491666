import { CHANGE_EVENT_TYPES, type ChangeEventType, type StoredChangeEvent } from '../model/change-event.js';
import { ApiError } from '../domain/errors.js';
import { type ChangeFeed, InvalidPositionError } from '../storage/ports.js';

/**
 * The change feed as clients read it (`GET /openprofiles/v1/changes`, docs/changes.md): pages of
 * events after an opaque cursor, long-polled with `wait`. A cursor names a tenant and a position
 * of the store; `after=now` starts at the head, no `after` at the oldest event kept.
 */

export const FEED_LIMITS = Object.freeze({ defaultLimit: 100, maxLimit: 1000, maxWaitS: 30 });

/** How often a waiting read looks again when nothing in this process says an apply happened (appliers elsewhere). */
const POLL_MS = 50;

export interface FeedQuery {
  /** A cursor, `now`, or null (the oldest event kept). */
  after: string | null;
  limit: number;
  waitS: number;
  types: ChangeEventType[] | null;
}

export interface FeedPage {
  /** `{"data":[…],"nextCursor":"…"}`, assembled from the stored events' JSON text. */
  json: string;
  count: number;
  nextCursor: string;
}

type Raw = Record<string, string | string[] | undefined>;
const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

function integer(raw: Raw, name: string, min: number, max: number, fallback: number): number {
  const text = first(raw[name]);
  if (text === undefined) return fallback;
  const n = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) throw new ApiError('7003', `${name} must be an integer from ${min} to ${max}`);
  return n;
}

export function parseFeedQuery(raw: Raw): FeedQuery {
  const typesText = first(raw.types);
  let types: ChangeEventType[] | null = null;
  if (typesText !== undefined) {
    const names = typesText.split(',').filter((t) => t !== '');
    const unknown = names.filter((t) => !(CHANGE_EVENT_TYPES as readonly string[]).includes(t));
    if (names.length === 0 || unknown.length > 0) throw new ApiError('7003', `types takes a comma list of ${CHANGE_EVENT_TYPES.join(', ')}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}`);
    types = [...new Set(names)] as ChangeEventType[];
  }
  return {
    after: first(raw.after) ?? null,
    limit: integer(raw, 'limit', 1, FEED_LIMITS.maxLimit, FEED_LIMITS.defaultLimit),
    waitS: integer(raw, 'wait', 0, FEED_LIMITS.maxWaitS, 0),
    types,
  };
}

const CURSOR_PREFIX = 'c1:';

export const cursorOf = (tenantId: number, position: string): string => Buffer.from(`${CURSOR_PREFIX}${tenantId}:${position}`).toString('base64url');

/** The position a cursor names; 7908 when it is malformed or another tenant's. */
function positionOf(tenantId: number, cursor: string): string {
  const text = /^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const match = /^c1:(\d+):(.+)$/.exec(text);
  if (!match) throw new ApiError('7908', 'after is not a cursor of this feed');
  if (Number(match[1]) !== tenantId) throw new ApiError('7908', "after is another tenant's cursor");
  return match[2];
}

/** One event on the wire (the feed's, and a webhook delivery's body): its id and cursor, then its stored body's fields. */
export const eventJson = (tenantId: number, e: StoredChangeEvent): string => `{"id":"${e.id}","cursor":"${cursorOf(tenantId, e.position)}",${e.bodyJson.slice(1)}`;

export class ChangeFeedReader {
  constructor(
    private readonly feed: ChangeFeed,
    /** Resolves when this process applies something, or after `ms`. */
    private readonly applied: (ms: number) => Promise<unknown>,
  ) {}

  /** A page of the tenant's events; with `waitS`, waits until there is one or the time is up. 410 (7930) when the cursor is past retention. */
  async read(tenantId: number, query: FeedQuery): Promise<FeedPage> {
    // Without `after`, the head is taken before the first read: an event that settles after that
    // read is after the head, so an empty page's cursor cannot skip it.
    const start = query.after === null || query.after === 'now' ? await this.feed.head(tenantId) : null;
    const after = query.after === null ? null : query.after === 'now' ? start : positionOf(tenantId, query.after);
    const deadline = Date.now() + query.waitS * 1000;
    for (;;) {
      let page;
      try {
        page = await this.feed.read(tenantId, after, query.limit, query.types);
      } catch (err) {
        if (err instanceof InvalidPositionError) throw new ApiError('7908', 'after is not a cursor of this feed');
        throw err;
      }
      if (page.expired !== null) {
        const oldest = cursorOf(tenantId, page.expired);
        const reason = 'Events after this cursor were deleted past retention; read again from errors[0].cursor, the oldest event kept';
        throw new ApiError('7930', reason, [{ code: '7930', reason, cursor: oldest }]);
      }
      const { events } = page;
      const left = deadline - Date.now();
      if (events.length > 0 || left <= 0) {
        const last = events.at(-1)?.position ?? after ?? start!;
        const nextCursor = cursorOf(tenantId, last);
        return { json: `{"data":[${events.map((e) => eventJson(tenantId, e)).join(',')}],"nextCursor":"${nextCursor}"}`, count: events.length, nextCursor };
      }
      await this.applied(Math.min(left, POLL_MS));
    }
  }
}
