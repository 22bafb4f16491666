import type { App } from '../model/directory.js';
import type { AppProfileRow, MasterProfileRow } from '../model/profile.js';
import type { AppProfileDocument, AppProfileLine, ProfileDocument } from '../model/profile-document.js';
import { isPerDeviceChannel } from '../domain/channels.js';

/**
 * Stored rows as profile documents (docs/bulk-data.md). Every object is built with its keys in the
 * documented order, so that the same rows always serialise to the same bytes.
 */

/** ISO 8601 UTC with milliseconds. */
export const isoOf = (ms: number): string => new Date(ms).toISOString();

/** Finds the tenant's app of an appid; null for an app no longer in the directory (being erased), whose rows are left out. */
export type AppOf = (appid: string) => App | null;

export function toAppProfileDocument(row: AppProfileRow, app: App): AppProfileDocument {
  return {
    appId: row.appid,
    channel: app.channel,
    deviceId: isPerDeviceChannel(app.channel) && row.deviceId !== '' ? row.deviceId : null,
    attributes: row.attributes,
    createdAt: isoOf(row.createdAt),
    updatedAt: isoOf(row.updatedAt),
  };
}

export function toAppProfileLine(row: AppProfileRow, app: App): AppProfileLine {
  const { appId, channel, deviceId, attributes, createdAt, updatedAt } = toAppProfileDocument(row, app);
  return { customerId: row.customerId, appId, channel, deviceId, attributes, createdAt, updatedAt };
}

/** A customer's document: its master profile (null: app profiles only) and its app profiles, in the order given (appid, deviceId). */
export function toProfileDocument(customerId: string, master: MasterProfileRow | null, apps: readonly AppProfileRow[], appOf: AppOf): ProfileDocument {
  const appProfiles: AppProfileDocument[] = [];
  for (const row of apps) {
    const app = appOf(row.appid);
    if (app) appProfiles.push(toAppProfileDocument(row, app));
  }
  return {
    customerId,
    attributes: master ? master.attributes : null,
    appProfiles,
    createdAt: master ? isoOf(master.createdAt) : null,
    updatedAt: master ? isoOf(master.updatedAt) : null,
  };
}
