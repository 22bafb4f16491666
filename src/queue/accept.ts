import type { DirectoryCache, TenantContext } from '../domain/directory.js';
import { ApiError } from '../domain/errors.js';
import { parseWriteBody, storedBody, type WriteTarget } from '../domain/write-requests.js';
import type { NewWriteTransaction, WriteOperation, WriteRecord } from '../model/write-transaction.js';
import type { Committer } from './group-commit.js';
import type { QueueMonitor } from './queue-monitor.js';

/** A write request, as the HTTP layer hands it over after authentication. */
export interface WriteRequest {
  /** The new write transaction's transid (the request id, so logs carry it). */
  transid: string;
  operation: WriteOperation;
  /** The app of app-profile operations (already checked to be the tenant's). */
  appid: string | null;
  /** Creates and updates: the JSON body. */
  body?: unknown;
  /** Creates and updates: the body's text, as received (else the queue stores `body` serialised). */
  bodyText?: string;
  /** Deletes: the records, already named by path and query. */
  records?: WriteRecord[];
  isCascade?: boolean;
  idempotencyKey?: string | null;
  /** Hash of method, path and body, compared when an idempotency key is reused. */
  requestHash?: string | null;
}

export interface Accepted {
  transid: string;
  /** The id each record's result is reported under: its customerId, or else its userId. */
  recordIds: string[];
  /** True when an idempotency key named an earlier write transaction: nothing new was queued. */
  isReplay: boolean;
}

/** A validated write, ready to queue (`WriteAcceptor.prepare`). */
export type PreparedWrite = { wt: Omit<NewWriteTransaction, 'acceptedAt'>; recordIds: string[] };

/** Seconds a client should wait before retrying a write the queue could not take. */
export const RETRY_AFTER_S = 2;

/** Longest a write waits for the queue to drop below its soft limit before it is refused, ms. */
const ADMIT_WAIT_MS = 10_000;

/** Validates writes, then queues them durably (admission first); answers only after the commit. */
export class WriteAcceptor {
  constructor(
    private readonly directory: DirectoryCache,
    private readonly committer: Committer,
    private readonly monitor: QueueMonitor,
  ) {}

  /** False while writes cannot be queued (see Committer.isAvailable). */
  get canAccept(): boolean {
    return this.committer.isAvailable;
  }

  /**
   * Validates a write all-or-nothing. What it returns holds the records as the queue will store them (a create's or
   * update's body text, see `storedBody`), neither the parsed body nor records: a write waiting for admission and its
   * commit is one JSON text to the server thread's garbage collector (docs/performance-log.md).
   */
  async prepare(ctx: TenantContext, request: WriteRequest): Promise<PreparedWrite> {
    const { transid, operation, appid, isCascade = false, idempotencyKey = null, requestHash = null } = request;
    const header = { transid, tenantId: ctx.tenant.id, operation, appid, isUpsert: ctx.tenant.settings.upsertOnUpdate, isCascade, idempotencyKey, requestHash };
    const { records, recordsJson } = request.records ? { records: request.records, recordsJson: JSON.stringify(request.records) } : await this.validated(ctx, request);
    const recordIds = records.map((r) => r.customerId ?? r.userId ?? '');
    return { wt: { ...header, recordsJson, recordCount: records.length }, recordIds };
  }

  /** Queues a prepared write durably, once admitted; answers only after the commit. */
  async accept({ tenant }: TenantContext, { wt, recordIds }: PreparedWrite): Promise<Accepted> {
    if (!this.monitor.hasRoomFor(wt.recordCount)) {
      throw new ApiError('7902', `The queue holds ${this.monitor.depthRecords} records, its limit; retry later`, [], 503, RETRY_AFTER_S);
    }
    if (!(await this.monitor.admit(tenant.id, wt.recordCount, ADMIT_WAIT_MS))) {
      throw new ApiError('7902', `The queue holds ${this.monitor.depthRecords} records and the workers did not catch up within ${ADMIT_WAIT_MS / 1000} s; retry later`, [], 503, RETRY_AFTER_S);
    }
    // A StorageUnavailableError from the commit becomes 7902 in the HTTP error handler.
    const result = await this.committer.submit({ ...wt, acceptedAt: Date.now() });
    if (result.outcome === 'conflict') {
      throw new ApiError('7901', `Idempotency-Key was used within 24 h for another request (transid ${result.transid})`);
    }
    if (result.outcome === 'accepted') this.monitor.noteAccepted(tenant.id, wt.recordCount);
    return { transid: result.transid, recordIds, isReplay: result.outcome === 'replayed' };
  }

  /** A create's or update's records, validated all-or-nothing, and the queue's text of them: the body as it came. */
  private async validated({ tenant, master }: TenantContext, { appid, body, bodyText }: WriteRequest): Promise<{ records: WriteRecord[]; recordsJson: string }> {
    const app = appid === null ? null : this.directory.app(tenant.id, appid);
    if (appid !== null && !app) throw new ApiError('7018');
    const target: WriteTarget = app ? { kind: 'app', app, schema: this.directory.scope(tenant.id, app.appid) } : { kind: 'master', schema: master };
    const { records, newAppAttributes } = parseWriteBody(body, target, tenant.settings.batchLimit);
    if (app && newAppAttributes.length > 0) await this.directory.defineAppAttributes(tenant.id, app.appid, newAppAttributes);
    return { records, recordsJson: storedBody(bodyText ?? JSON.stringify(body), target) };
  }
}
