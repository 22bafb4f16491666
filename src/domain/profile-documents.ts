import type { App } from '../model/directory.js';
import type { AppProfileRow, MasterProfileRow } from '../model/profile.js';
import type { AppProfileDocument, AppProfileLine, ProfileDocument } from '../model/profile-document.js';
import { isPerDeviceChannel } from './channels.js';

/**
 * Stored rows as profile documents (docs/bulk-data.md): for listing, export and change events.
 * Every object is built with its keys in the documented order, so that the same rows always
 * serialise to the same bytes.
 */

/**
 * The last two times formatted: an apply's rows mostly carry its `now`, and each event also formats
 * its row's `createdAt`, so one entry would miss twice per event (toISOString costs about 0.4 µs).
 */
let last = { ms: Number.NaN, text: '' };
let before = { ms: Number.NaN, text: '' };

/** ISO 8601 UTC with milliseconds. */
export function isoOf(ms: number): string {
  if (ms === last.ms) return last.text;
  const hit = ms === before.ms ? before : { ms, text: new Date(ms).toISOString() };
  before = last;
  last = hit;
  return hit.text;
}

/** Finds the tenant's app of an appid; null for an app no longer in the directory (being erased), whose rows are left out. */
export type AppOf = (appid: string) => App | null;

/** An app profile's `deviceId` in documents: its device on per-device channels, null on every other. */
export const documentDeviceId = (row: AppProfileRow, channel: string): string | null => (isPerDeviceChannel(channel) && row.deviceId !== '' ? row.deviceId : null);

/** An app profile in a document; `channel` is its app's. */
export function toAppProfileDocument(row: AppProfileRow, channel: string): AppProfileDocument {
  return {
    appId: row.appid,
    channel,
    deviceId: documentDeviceId(row, channel),
    attributes: row.attributes,
    createdAt: isoOf(row.createdAt),
    updatedAt: isoOf(row.updatedAt),
  };
}

/** An app profile as a line of an app's export, and as a change event's profile: built directly, it runs per applied record. */
export function toAppProfileLine(row: AppProfileRow, channel: string): AppProfileLine {
  return {
    customerId: row.customerId,
    appId: row.appid,
    channel,
    deviceId: documentDeviceId(row, channel),
    attributes: row.attributes,
    createdAt: isoOf(row.createdAt),
    updatedAt: isoOf(row.updatedAt),
  };
}

/** A customer's document: its master profile (null: app profiles only) and its app profiles, in the order given (appid, deviceId). */
export function toProfileDocument(customerId: string, master: MasterProfileRow | null, apps: readonly AppProfileRow[], appOf: AppOf): ProfileDocument {
  const appProfiles: AppProfileDocument[] = [];
  for (const row of apps) {
    const app = appOf(row.appid);
    if (app) appProfiles.push(toAppProfileDocument(row, app.channel));
  }
  return {
    customerId,
    attributes: master ? master.attributes : null,
    appProfiles,
    createdAt: master ? isoOf(master.createdAt) : null,
    updatedAt: master ? isoOf(master.updatedAt) : null,
  };
}
