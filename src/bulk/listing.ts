import { createHash } from 'node:crypto';
import { INDEXED_BY_DEFAULT, type AttributeDefinition } from '../model/directory.js';
import type { ProfileDocument, ProfilePage } from '../model/profile-document.js';
import type { DirectoryCache, TenantContext } from '../domain/directory.js';
import { ApiError } from '../domain/errors.js';
import { LIMITS } from '../domain/attributes.js';
import { customerIdProblem } from '../domain/write-requests.js';
import type { MasterPageQuery, ProfileScan } from '../storage/ports.js';
import { toProfileDocument } from '../domain/profile-documents.js';

/**
 * Listing and finding master profiles (`GET /openprofiles/v1/profiles`, docs/bulk-data.md):
 * keyset pages in customerId order, each after the last customerId of the one before, which the
 * opaque cursor carries. A profile that exists for the whole listing is on exactly one page,
 * whatever is written meanwhile; one created or deleted meanwhile may or may not be.
 */

export const LISTING_LIMITS = Object.freeze({ defaultLimit: 100, maxLimit: 1000, maxValuesPerAttribute: 100 });

/** Query parameters of the listing itself: never attribute filters, whatever the tenant's schema holds. */
export const LISTING_PARAMETERS: readonly string[] = ['limit', 'cursor', 'updatedSince', 'include'];

/** What to include besides the master profiles. */
export const INCLUDES = ['appProfiles'] as const;

/** ISO 8601 date-time with seconds and a zone: what `updatedSince` takes (the OpenAPI document has the same pattern). */
export const DATE_TIME = /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(\.\d+)?(Z|[+-]([01]\d|2[0-3]):([0-5]\d))$/;

/** A listing request, checked. */
export interface ListingQuery {
  limit: number;
  /** The last customerId of the page before (from the cursor), or null. */
  after: string | null;
  updatedSince: number | null;
  where: Array<{ name: string; values: string[] }>;
  withAppProfiles: boolean;
}

type Raw = Record<string, string | string[] | undefined>;

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/** Milliseconds of an ISO 8601 date-time, or null when it is none (a 31 April included). */
export function parseDateTime(text: string): number | null {
  const m = DATE_TIME.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, fraction, zone, zh, zm] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const days = [31, year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (day > days[month - 1]) return null;
  const ms = fraction ? Math.floor(Number(`0${fraction}`) * 1000) : 0;
  const offset = zone === 'Z' ? 0 : (zone[0] === '-' ? -1 : 1) * (Number(zh) * 60 + Number(zm));
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(Number(h), Number(mi), Number(s), ms);
  return utc.getTime() - offset * 60_000;
}

/** Whether profiles can be found by this master attribute's value: the primary key, or an index. */
export const isFindable = (def: AttributeDefinition): boolean => def.name === 'customerId' || def.isIndexed === true || INDEXED_BY_DEFAULT.includes(def.name);

function parseLimit(raw: Raw): number {
  const text = first(raw.limit);
  if (text === undefined) return LISTING_LIMITS.defaultLimit;
  const limit = /^\d{1,4}$/.test(text) ? Number(text) : NaN;
  if (!(limit >= 1 && limit <= LISTING_LIMITS.maxLimit)) throw new ApiError('7003', `limit must be an integer from 1 to ${LISTING_LIMITS.maxLimit}`);
  return limit;
}

/** The attribute filters: query parameters named for a master attribute of the tenant (others are ignored, as everywhere in the API). */
function parseFilters(ctx: TenantContext, raw: Raw): ListingQuery['where'] {
  const where: ListingQuery['where'] = [];
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined || LISTING_PARAMETERS.includes(name)) continue;
    const def = ctx.master.get(name);
    if (!def) continue;
    if (!isFindable(def)) {
      throw new ApiError('7909', `${name} is not an indexed attribute`, [
        { attribute: name, code: '7909', reason: `profiles are found by indexed master attributes only; mark it with: openprofiles attribute add ${ctx.tenant.id} ${name} --type ${def.type} --indexed` },
      ]);
    }
    const values = [...new Set([value].flat())];
    if (values.length > LISTING_LIMITS.maxValuesPerAttribute) throw new ApiError('7003', `at most ${LISTING_LIMITS.maxValuesPerAttribute} values of ${name}`);
    for (const v of values) {
      if (v.length === 0) throw new ApiError('7003', `a value of ${name} is empty`);
      if (name === 'customerId') {
        const problem = customerIdProblem(v);
        if (problem) throw new ApiError('7011', `customerId: ${problem}`, [{ attribute: name, code: '7011', reason: problem }]);
      } else if (v.length > LIMITS.valueLength) {
        throw new ApiError('7003', `a value of ${name} holds 1 to ${LIMITS.valueLength} characters`);
      }
    }
    where.push({ name, values: values.sort() });
  }
  return where.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** What a cursor is bound to besides its tenant: the filters, as a short hash. */
function filtersOf(query: Pick<ListingQuery, 'updatedSince' | 'where'>): string {
  return createHash('sha256').update(JSON.stringify([query.updatedSince, query.where])).digest('base64url').slice(0, 22);
}

interface CursorContent {
  /** Format version. */
  v: 1;
  /** Tenant id. */
  t: number;
  /** The last customerId of the page. */
  k: string;
  /** `filtersOf` the request that made it. */
  f: string;
}

export function encodeCursor(tenantId: number, after: string, query: Pick<ListingQuery, 'updatedSince' | 'where'>): string {
  const content: CursorContent = { v: 1, t: tenantId, k: after, f: filtersOf(query) };
  return Buffer.from(JSON.stringify(content)).toString('base64url');
}

/** The customerId a cursor resumes after; 7908 when it is malformed, or made for another tenant or other filters. */
export function decodeCursor(tenantId: number, cursor: string, query: Pick<ListingQuery, 'updatedSince' | 'where'>): string {
  let content: Partial<CursorContent> | null = null;
  if (/^[A-Za-z0-9_-]{1,1024}$/.test(cursor)) {
    try {
      content = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    } catch {
      content = null;
    }
  }
  if (typeof content !== 'object' || content === null || content.v !== 1 || typeof content.t !== 'number' || typeof content.k !== 'string' || typeof content.f !== 'string') {
    throw new ApiError('7908', 'The cursor is malformed: pass nextCursor as the previous page gave it');
  }
  if (content.t !== tenantId) throw new ApiError('7908', 'The cursor was made for another tenant');
  if (content.f !== filtersOf(query)) throw new ApiError('7908', 'The cursor was made for other filters: keep updatedSince and the attribute filters of the first page');
  return content.k;
}

/** A listing request from its query parameters; 7003, 7011, 7908 or 7909 when it cannot be served. */
export function parseListingQuery(ctx: TenantContext, raw: Raw): ListingQuery {
  const limit = parseLimit(raw);
  const since = first(raw.updatedSince);
  let updatedSince: number | null = null;
  if (since !== undefined) {
    updatedSince = parseDateTime(since);
    if (updatedSince === null) throw new ApiError('7003', 'updatedSince must be an ISO 8601 date-time with a zone, e.g. 2026-12-07T10:00:00Z');
  }
  const include = first(raw.include);
  if (include !== undefined && !(INCLUDES as readonly string[]).includes(include)) throw new ApiError('7003', `include takes ${INCLUDES.join(', ')}`);
  const where = parseFilters(ctx, raw);
  const cursor = first(raw.cursor);
  const after = cursor === undefined ? null : decodeCursor(ctx.tenant.id, cursor, { updatedSince, where });
  return { limit, after, updatedSince, where, withAppProfiles: include === 'appProfiles' };
}

/** Pages of a tenant's master profiles (and their app profiles, when asked). */
export class ProfileListing {
  constructor(
    private readonly scan: Pick<ProfileScan, 'pageMasters' | 'appProfilesOf'>,
    private readonly directory: DirectoryCache,
  ) {}

  async list(ctx: TenantContext, query: ListingQuery): Promise<ProfilePage> {
    const tenantId = ctx.tenant.id;
    const page: MasterPageQuery = { after: query.after, limit: query.limit + 1, updatedSince: query.updatedSince, where: query.where };
    const rows = await this.scan.pageMasters(tenantId, page);
    const hasMore = rows.length > query.limit;
    if (hasMore) rows.length = query.limit;
    const apps = query.withAppProfiles && rows.length > 0 ? await this.scan.appProfilesOf(tenantId, rows.map((r) => r.customerId)) : [];
    const appsOf = new Map<string, typeof apps>();
    for (const row of apps) {
      const own = appsOf.get(row.customerId);
      if (own) own.push(row);
      else appsOf.set(row.customerId, [row]);
    }
    const appOf = (appid: string) => this.directory.app(tenantId, appid);
    const data: ProfileDocument[] = rows.map((row) => toProfileDocument(row.customerId, row, appsOf.get(row.customerId) ?? [], appOf));
    return { data, nextCursor: hasMore ? encodeCursor(tenantId, rows[rows.length - 1].customerId, query) : null };
  }
}
