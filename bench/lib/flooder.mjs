// The flooding tenant of bench/flood.mjs, as a process of its own (a real flooder is another
// client, not a load generator sharing the victim's event loop). Prints load()'s result as JSON.
//
//   node bench/lib/flooder.mjs <url> <key> <appid> <seconds>
import { load } from './load.mjs';
import { rtBodies } from './records.mjs';

const [url, key, appid, seconds] = process.argv.slice(2);
const result = await load({ url, key, method: 'PUT', path: `/resources/v2/customerprofiles/${appid}`, body: rtBodies({ space: 10_000 }), connections: 50, seconds: Number(seconds) });
process.stdout.write(JSON.stringify(result));
