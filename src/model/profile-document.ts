/**
 * The profile document: one shape for listing, export, import and the change feed
 * (docs/bulk-data.md). Keys are always in the order declared here, so the same profile always
 * serialises to the same bytes.
 *
 * - profile document: a customer's master profile with its app profiles in every app of the tenant.
 * - app profile document: one app profile (one device on per-device channels) as it sits in a
 *   profile document; an app profile line adds its `customerId`, for exports of one app.
 */
import type { Attributes } from './directory.js';

export interface AppProfileDocument {
  appId: string;
  /** The app's channel (`fb`, `rt`, `whatsapp`, …). */
  channel: string;
  /** The device on per-device channels (`rt`); null on every other channel. */
  deviceId: string | null;
  /** As stored; on `rt` apps they hold `deviceId` (and `userId`) too, as sent. */
  attributes: Attributes;
  /** ISO 8601 UTC with milliseconds. */
  createdAt: string;
  updatedAt: string;
}

export interface ProfileDocument {
  customerId: string;
  /** The master profile's attributes as stored; null in an export for a customer with app profiles and no master profile. */
  attributes: Attributes | null;
  /** Ordered by appId, then deviceId. */
  appProfiles: AppProfileDocument[];
  /** ISO 8601 UTC with milliseconds; null with `attributes`. */
  createdAt: string | null;
  updatedAt: string | null;
}

/** One line of an export of one app: an app profile with its customer. */
export interface AppProfileLine extends AppProfileDocument {
  customerId: string;
}

/** One page of a listing. `nextCursor` is null on the last page. */
export interface ProfilePage {
  data: ProfileDocument[];
  nextCursor: string | null;
}
