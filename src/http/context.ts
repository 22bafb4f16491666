import type { ChangeFeedReader } from '../changes/feed.js';
import type { ImportService } from '../bulk/import-service.js';
import type { DirectoryCache } from '../domain/directory.js';
import type { ProfileReader } from '../domain/profile-reads.js';
import type { WriteAcceptor } from '../write/2-accept.js';
import type { StatusReader } from '../write/5-status.js';
import type { Directory, ProfileScan } from '../storage/ports.js';
import type { WebhookEndpoints } from '../changes/webhook-endpoints.js';
import type { Metrics } from './metrics.js';

/** The HTTP context: what the routes use. Built by the composition root (src/main.ts) or a test. */
export interface Services {
  /** The store's directory role, which readiness asks for its config version. */
  store: Directory;
  directory: DirectoryCache;
  reader: ProfileReader;
  /** Bulk reads: listing, find by value, export (src/bulk). */
  profileScan: ProfileScan;
  /** The change feed (src/changes). */
  changes: ChangeFeedReader;
  acceptor: WriteAcceptor;
  /** The tenant's webhook endpoints (src/changes). */
  webhooks: WebhookEndpoints;
  /** Bulk imports (src/bulk/import-service.ts). */
  imports: ImportService;
  status: StatusReader;
  metrics: Metrics;
  lifecycle: { isShuttingDown: boolean };
}
