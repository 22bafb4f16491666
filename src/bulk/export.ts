import { stringify } from 'csv-stringify/sync';
import type { App, AttributeDefinition, Attributes, AttributeValue } from '../model/directory.js';
import type { AppProfileRow } from '../model/profile.js';
import type { DirectoryCache } from '../domain/directory.js';
import type { CustomerProfiles, ProfileScan } from '../storage/ports.js';
import { type AppOf, documentDeviceId, isoOf, toAppProfileLine, toProfileDocument } from '../domain/profile-documents.js';

/**
 * Export (docs/bulk-data.md): one consistent snapshot of a tenant, as NDJSON or CSV text, one
 * chunk per batch of the snapshot. The chunks are made as they are read (`Readable.from` reads the
 * next only when the last is taken), so memory holds one batch whatever the store's size, and a
 * slow reader slows the export instead of filling memory.
 */

export const EXPORT_FORMATS = ['ndjson', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const CONTENT_TYPES: Record<ExportFormat, string> = { ndjson: 'application/x-ndjson', csv: 'text/csv; charset=utf-8' };

/** Customers (or app profiles) per batch of the snapshot. */
export const EXPORT_BATCH_SIZE = 1000;

export interface ExportRequest {
  tenantId: number;
  format: ExportFormat;
  /** Export this app's app profiles instead of the customers: an app of the tenant. */
  app: App | null;
  /** Count what the snapshot holds first (for a progress bar's ETA). Default false. */
  isCounted?: boolean;
  batchSize?: number;
}

/** How far an export is: rows (lines after the header) written, and the snapshot's total when counted. */
export interface ExportProgress {
  rows: number;
  total: number | null;
}

/**
 * A CSV cell that says exactly what is stored: strings quoted (csv-stringify's `quoted_string`),
 * numbers and booleans unquoted as JSON, an absent value empty and unquoted.
 */
const CSV_OPTIONS = {
  quoted_string: true,
  cast: { number: (n: number) => JSON.stringify(n), boolean: (b: boolean) => (b ? 'true' : 'false') },
} as const;

type Cell = AttributeValue | undefined;

const csvOf = (rows: Cell[][]): string => stringify(rows, CSV_OPTIONS);

/** Attribute names of a schema in schema order (definition ids grow as attributes are defined), less those given their own column. */
const columnsOf = (schema: ReadonlyMap<string, AttributeDefinition>, own: readonly string[]): string[] =>
  [...schema.values()]
    .sort((a, b) => a.id - b.id)
    .map((d) => d.name)
    .filter((name) => !own.includes(name));

/**
 * Exports a tenant: the text of the file, chunk by chunk. `progress` is updated as rows go out.
 * The directory is refreshed once the snapshot is open, so the CSV header holds every attribute a
 * row of the snapshot can have.
 */
export async function* exportTenant(scan: Pick<ProfileScan, 'snapshotCustomers' | 'snapshotApp'>, directory: DirectoryCache, request: ExportRequest, progress: ExportProgress = { rows: 0, total: null }): AsyncGenerator<string> {
  const { tenantId, format, app } = request;
  const options = { batchSize: request.batchSize ?? EXPORT_BATCH_SIZE, isCounted: request.isCounted ?? false };
  const appOf = (appid: string) => directory.app(tenantId, appid);
  if (app) {
    const snapshot = await scan.snapshotApp(tenantId, app.appid, options);
    try {
      progress.total = snapshot.total;
      await directory.refreshIfChanged();
      const columns = columnsOf(directory.scope(tenantId, app.appid), ['customerId', 'deviceId']);
      if (format === 'csv') yield csvOf([['customerId', 'deviceId', ...columns, 'createdAt', 'updatedAt']]);
      for await (const batch of snapshot) {
        progress.rows += batch.length;
        yield format === 'csv' ? csvOf(batch.map((row) => appRow(row, app, columns))) : lines(batch.map((row) => toAppProfileLine(row, app.channel)));
      }
    } finally {
      await snapshot.close();
    }
    return;
  }
  const snapshot = await scan.snapshotCustomers(tenantId, options);
  try {
    progress.total = snapshot.total;
    await directory.refreshIfChanged();
    const columns = columnsOf(directory.scope(tenantId, 'master'), ['customerId']);
    if (format === 'csv') yield csvOf([['customerId', ...columns, 'createdAt', 'updatedAt']]);
    for await (const batch of snapshot) {
      if (format === 'csv') {
        // Customers with app profiles only are not master profiles: not in the CSV of master profiles.
        const masters = batch.filter((c) => c.master !== null);
        progress.rows += masters.length;
        if (masters.length > 0) {
          yield csvOf(
            masters.map(({ customerId, master }) => {
              const attributes = JSON.parse(master!.attributesJson) as Attributes;
              return [customerId, ...columns.map((name) => attributes[name]), isoOf(master!.createdAt), isoOf(master!.updatedAt)];
            }),
          );
        }
      } else {
        progress.rows += batch.length;
        let text = '';
        for (const c of batch) text += `${documentLine(c, appOf)}\n`;
        yield text;
      }
    }
  } finally {
    await snapshot.close();
  }
}

/**
 * A customer's profile document as its NDJSON line: the bytes of `JSON.stringify(toProfileDocument(…))`
 * (docs/bulk-data.md), with the master's attributes written as the store holds them. That text is
 * JSON.stringify's own output for them (keys in stored order), so parsing and serialising it again
 * would give it back unchanged; skipping that was most of the export's cost beyond reading.
 */
function documentLine({ customerId, master, apps }: CustomerProfiles, appOf: AppOf): string {
  const document = toProfileDocument(customerId, null, apps, appOf);
  if (!master) return JSON.stringify(document);
  return `{"customerId":${JSON.stringify(customerId)},"attributes":${master.attributesJson},"appProfiles":${JSON.stringify(document.appProfiles)},"createdAt":"${isoOf(master.createdAt)}","updatedAt":"${isoOf(master.updatedAt)}"}`;
}

const lines = (documents: unknown[]): string => {
  let text = '';
  for (const d of documents) text += `${JSON.stringify(d)}\n`;
  return text;
};

function appRow(row: AppProfileRow, app: App, columns: readonly string[]): Cell[] {
  return [row.customerId, documentDeviceId(row, app.channel) ?? undefined, ...columns.map((name) => row.attributes[name]), isoOf(row.createdAt), isoOf(row.updatedAt)];
}
