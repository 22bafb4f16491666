// The flooding tenant of bench/flood.mjs: 100-record writes from 50 connections. Run as a script,
// it floods from a process of its own (a real flooder is another client, not a load generator
// sharing the victim's event loop) and prints load()'s result as JSON.
//
//   node bench/lib/flooder.mjs <url> <key> <appid> <seconds>
import { fileURLToPath } from 'node:url';
import { load } from './load.mjs';
import { rtBodies } from './records.mjs';

export const floodLoad = ({ url, key, appid, seconds }) =>
  load({ url, key, method: 'PUT', path: `/resources/v2/customerprofiles/${appid}`, body: rtBodies({ space: 10_000 }), connections: 50, seconds });

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [url, key, appid, seconds] = process.argv.slice(2);
  process.stdout.write(JSON.stringify(await floodLoad({ url, key, appid, seconds: Number(seconds) })));
}
