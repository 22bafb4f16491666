// Preloaded into a process the benchmark runs (`node --import ./bench/lib/max-rss.mjs …`): on exit,
// writes the process's peak resident set size (kB, getrusage) to the file MAX_RSS_FILE names.
import { writeFileSync } from 'node:fs';

process.on('exit', () => {
  if (process.env.MAX_RSS_FILE) writeFileSync(process.env.MAX_RSS_FILE, String(process.resourceUsage().maxRSS));
});
