import type { NewAttributeDefinition } from '../model/directory.js';

/**
 * Channels and their known app-profile attributes (contract §1, §6). An app belongs to one of a
 * closed list of channels, so a typo (`--channel whatsap`) is refused instead of becoming a channel
 * of its own. `fb` (Messenger), `twitter`, `wechat` and `rt` (in-app / push, one app profile per
 * device) start with those channels' definitions; the generic channels start with the common ones
 * and `userId`. Unknown app attributes are accepted as strings on every channel. Apps created
 * before the list existed keep whatever channel they were given.
 */

/** Channels whose app profiles are kept one per device: `deviceId` is mandatory. */
export const isPerDeviceChannel = (channel: string): boolean => channel === 'rt';

/**
 * Channels without attribute sets of their own: WhatsApp, LINE, Viber, web chat, SMS, RCS,
 * Telegram, Instagram, Google Business Messages (`gbm`), Apple Messages for Business (`apple`),
 * email and voice.
 */
export const GENERIC_CHANNELS = ['whatsapp', 'line', 'viber', 'web', 'sms', 'rcs', 'telegram', 'instagram', 'gbm', 'apple', 'email', 'voice'] as const;

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

/** Every channel an app may be created for: the four with attribute sets of their own, then the generic ones. */
export const CHANNELS: readonly string[] = [...Object.keys(BY_CHANNEL), ...GENERIC_CHANNELS];

export const isKnownChannel = (channel: string): boolean => CHANNELS.includes(channel);

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
