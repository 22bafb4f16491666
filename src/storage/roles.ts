/**
 * Builds an adapter's role objects from its parts, in place of a method per call that would only
 * forward it: each named method of the part, with the adapter's driver errors translated.
 */
import type { Applier, ChangeFeed, Directory, Erasure, Imports, Journal, Keys, Profiles, ProfileScan, WebhookDeliveries, Webhooks } from './ports.js';

type Method = (...args: never[]) => unknown;

/** The role's methods as a synchronous part has them (SQLite: better-sqlite3 calls block). */
export type SyncPart<Role> = { [K in keyof Role]: Role[K] extends ((...args: infer A) => Promise<infer R>) | undefined ? (...args: A) => R : never };

/**
 * The role object of a synchronous part: each method's result, or its translated error, as a
 * promise. `partOf` is read at each call, so a part may be made later (after migration).
 */
export function promised<Role>(partOf: () => SyncPart<Role>, methods: ReadonlyArray<keyof Role & string>, translate: (err: unknown) => unknown): Role {
  const role: Record<string, Method> = {};
  for (const name of methods) {
    role[name] = (...args) => {
      try {
        return Promise.resolve((partOf()[name] as Method)(...args));
      } catch (err) {
        return Promise.reject(translate(err));
      }
    };
  }
  return role as Role;
}

/** The role object of an asynchronous part: each method, with its rejection translated. */
export function translating<Role>(part: Role, methods: ReadonlyArray<keyof Role & string>, translate: (err: unknown) => unknown): Role {
  const role: Record<string, Method> = {};
  for (const name of methods) {
    const method = (part[name] as Method).bind(part);
    role[name] = async (...args) => {
      try {
        return await method(...args);
      } catch (err) {
        throw translate(err);
      }
    };
  }
  return role as Role;
}

/** Every method of a role, by name: a role that gains a method does not compile until it is listed. */
const methodsOf = <Role>(names: Record<keyof Role, true>) => Object.keys(names) as Array<keyof Role & string>;

export const DIRECTORY_METHODS = methodsOf<Directory>({
  configVersion: true, load: true, createTenant: true, listTenants: true, getTenant: true, updateTenantSettings: true, setAllowList: true,
  createApp: true, listApps: true, defineAttributes: true, removeTenant: true, removeApp: true,
});
export const KEYS_METHODS = methodsOf<Keys>({ createProfileKey: true, listProfileKeys: true, revokeProfileKey: true });
export const PROFILES_METHODS = methodsOf<Profiles>({ getMasterProfiles: true, getAppProfiles: true, findAppProfilesByUserId: true, getAppProfilesOfCustomers: true });
/** The journal's methods every store has (`reclaimQueueSpace` and `watchForWork` are the adapter's own). */
type CommonJournal = Required<Pick<Journal, 'enqueue' | 'getWriteTransactionStatus' | 'queueStats' | 'purgeWriteTransactions'>>;
export const JOURNAL_METHODS = methodsOf<CommonJournal>({ enqueue: true, getWriteTransactionStatus: true, queueStats: true, purgeWriteTransactions: true });
export const APPLIER_METHODS = methodsOf<Applier>({ applyNext: true });
export const CHANGE_FEED_METHODS = methodsOf<ChangeFeed>({ read: true, head: true, purge: true });
export const ERASURE_METHODS = methodsOf<Erasure>({ countTenantRows: true, countAppRows: true, eraseTenantRows: true, eraseAppRows: true });
export const PROFILE_SCAN_METHODS = methodsOf<ProfileScan>({
  pageMasters: true, planOf: true, appProfilesOf: true, snapshotCustomers: true, snapshotApp: true, indexMasterAttribute: true,
});
export const IMPORTS_METHODS = methodsOf<Imports>({
  startImport: true, getImport: true, claimImport: true, saveChunks: true, markChunksAccepted: true, listChunks: true, listRejects: true, finishImport: true,
  listRunningUploads: true, purgeFinished: true,
});
export const WEBHOOKS_METHODS = methodsOf<Webhooks>({
  createEndpoint: true, listEndpoints: true, removeEndpoint: true, enableEndpoint: true, listAttempts: true, resend: true, purgeAttempts: true,
});
export const WEBHOOK_DELIVERIES_METHODS = methodsOf<WebhookDeliveries>({ lease: true, release: true, take: true, due: true, record: true });
