import type { DirectoryCache, TenantContext } from '../domain/directory.js';
import { ApiError } from '../domain/errors.js';
import { parseWriteBody, storedBody, type WriteTarget } from '../domain/write-requests.js';
import type { NewWriteTransaction, WriteOperation, WriteRecord } from '../model/write-transaction.js';
import type { Committer } from './3-commit.js';
import type { Admission } from './2-admission.js';

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

/** Stage 2, accept: validates writes, then queues them durably (admission first); answers only after the commit. */
export class WriteAcceptor {
  constructor(
    private readonly directory: DirectoryCache,
    private readonly committer: Committer,
    private readonly admission: Admission,
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
    await this.admission.admit(tenant.id, wt.recordCount);
    // A StorageUnavailableError from the commit becomes 7902 in the HTTP error handler.
    const result = await this.committer.submit({ ...wt, acceptedAt: Date.now() });
    if (result.outcome === 'conflict') {
      throw new ApiError('7901', `Idempotency-Key was used within 24 h for another request (transid ${result.transid})`);
    }
    if (result.outcome === 'accepted') this.admission.noteAccepted(tenant.id, wt.recordCount);
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
