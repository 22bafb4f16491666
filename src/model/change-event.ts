/**
 * The nouns of the change feed.
 *
 * - change event: one change the apply made to one profile (a master profile, or one app profile:
 *   one device's on per-device channels), written in the apply's own database transaction, so an
 *   event exists if and only if its change committed.
 * - feed position: where an event sits in the tenant's feed; events are read in position order,
 *   which is apply order for every customer. Clients see it only as an opaque cursor.
 */
import type { AppProfileLine, ProfileDocument } from './profile-document.js';

export const CHANGE_EVENT_TYPES = ['profile.created', 'profile.updated', 'profile.deleted', 'app_profile.created', 'app_profile.updated', 'app_profile.deleted'] as const;
export type ChangeEventType = (typeof CHANGE_EVENT_TYPES)[number];

/**
 * An event as the apply writes it. Its body is the wire event without `id` and `cursor`, which
 * come from where the store puts it.
 */
export interface NewChangeEvent {
  tenantId: number;
  type: ChangeEventType;
  customerId: string;
  /** ms since the epoch: the apply's time, the profile's `updatedAt` for creates and updates. */
  occurredAt: number;
  body: ChangeEventBody;
}

/**
 * The state of a profile after its change, in the shapes of listing and export (docs/bulk-data.md):
 * a master profile's document with no app profiles, or an app profile as a line of an app's export.
 */
export type ChangedProfile = ProfileDocument | AppProfileLine;

export interface ChangeEventBody {
  type: ChangeEventType;
  /** ISO 8601 UTC with milliseconds. */
  occurredAt: string;
  customerId: string;
  appId: string | null;
  deviceId: string | null;
  /** The write transaction whose record made the change. */
  transid: string;
  /** Names of the attributes whose values the change added, changed or removed. */
  changed: string[];
  profile: ChangedProfile | null;
}

/** A stored event as the feed reads it: its position, and its body as JSON text (`ChangeEventBody`). */
export interface StoredChangeEvent {
  position: string;
  /** The event's id, the same on every read and every webhook retry (`evt_…`). */
  id: string;
  type: ChangeEventType;
  customerId: string;
  bodyJson: string;
}
