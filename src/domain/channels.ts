import type { NewAttributeDefinition } from '../storage/storage.js';

/**
 * Channels and their known app-profile attributes (contract §6). Apps of `fb`, `twitter`, `wechat`
 * and `rt` start with those channels' definitions; other channels (whatsapp, line, viber, web, …)
 * are generic and start with the common ones. Unknown app attributes are accepted as strings.
 */
/** Channels whose app profiles are kept one per device: `deviceId` is mandatory. */
export const isPerDeviceChannel = (channel: string): boolean => channel === 'rt';

/** Channel names: lower-case words, so they read well in URLs and logs. */
export const CHANNEL_NAME = /^[a-z][a-z0-9_]{1,31}$/;

const flag = (name: string): NewAttributeDefinition => ({ name, type: 'flag' });
const text = (name: string, maxLength = 4096): NewAttributeDefinition => ({ name, type: 'string', maxLength });
const datetime = (name: string): NewAttributeDefinition => ({ name, type: 'datetime' });

const COMMON: NewAttributeDefinition[] = [flag('status'), flag('verified'), text('channel', 32), datetime('createdOn'), datetime('updatedOn')];

const BY_CHANNEL: Record<string, NewAttributeDefinition[]> = {
  fb: [
    text('psid', 64),
    text('name', 256),
    { name: 'profile_pic', type: 'url' },
    text('gender', 32),
    text('locale', 32),
    text('timezone', 64),
  ],
  twitter: [
    text('twitterid', 64),
    text('twitter_handle', 64),
    text('twitter_name', 256),
    text('geolocation', 256),
    text('timezone', 64),
  ],
  wechat: [
    text('nick', 256),
    text('language', 32),
    text('wechat_user_id', 128),
    text('city', 128),
    text('province', 128),
    text('country', 128),
    text('gender', 32),
  ],
  rt: [
    flag('connectStatus'),
    text('userId', 128),
    text('deviceId', 128),
    text('rtmId', 256),
    text('make', 128),
    text('model', 128),
    text('os', 64),
    text('osversion', 64),
    text('pushId', 1024),
    text('language', 32),
    text('timezone', 64),
    { name: 'guest', type: 'boolean' },
    { name: 'foreground', type: 'boolean' },
    text('sdkversion', 64),
    datetime('last_opened'),
    datetime('last_upgraded'),
  ],
};

/** The attribute definitions an app of `channel` starts with. */
export function channelAttributes(channel: string): NewAttributeDefinition[] {
  return [...COMMON, ...(BY_CHANNEL[channel] ?? [text('userId', 128)])];
}

/** The master schema every tenant starts with (contract §6). */
export function defaultMasterAttributes(): NewAttributeDefinition[] {
  return [
    text('customerId', 128),
    text('name', 256),
    { name: 'email', type: 'email' },
    { name: 'msisdn', type: 'msisdn' },
    ...['sms', 'voice', 'ussd', 'rt', 'fb', 'fbc', 'twitter', 'mxit', 'wechat', 'wa'].map(flag),
  ];
}
