import type { TenantSettings } from '../model/directory.js';

export const DEFAULT_TENANT_SETTINGS: Readonly<TenantSettings> = Object.freeze({
  responseFormat: 'legacy',
  batchLimit: 100,
  rateLimit: 1000,
  upsertOnUpdate: false,
  retentionDays: 7,
});

/** The largest batch limit a tenant may have (contract §3.1). */
export const MAX_BATCH_LIMIT = 1000;

/** Why a settings patch is invalid, or null. */
export function settingsProblem(patch: Partial<TenantSettings>): string | null {
  const { responseFormat, batchLimit, rateLimit, retentionDays } = patch;
  if (responseFormat !== undefined && responseFormat !== 'legacy' && responseFormat !== 'batch') {
    return `response format must be legacy or batch, got ${JSON.stringify(responseFormat)}`;
  }
  if (batchLimit !== undefined && !(Number.isInteger(batchLimit) && batchLimit >= 1 && batchLimit <= MAX_BATCH_LIMIT)) {
    return `batch limit must be an integer from 1 to ${MAX_BATCH_LIMIT}, got ${batchLimit}`;
  }
  if (rateLimit !== undefined && !(Number.isInteger(rateLimit) && rateLimit >= 1)) {
    return `rate limit must be a positive integer (requests per second), got ${rateLimit}`;
  }
  if (retentionDays !== undefined && !(Number.isFinite(retentionDays) && retentionDays > 0 && retentionDays <= 3650)) {
    return `retention must be from 1 to 3650 days, got ${retentionDays}`;
  }
  return null;
}
