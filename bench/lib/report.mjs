// The printed report: one table per scenario (Markdown, so a run can be pasted into the docs as
// it is), and the goals of the benchmark issue, each met or not with its figure.

const cell = (v) => (v === null || v === undefined ? '' : typeof v === 'number' ? v.toLocaleString('en-US') : String(v));

/** Prints `rows` (objects with the same keys, in column order) as a Markdown table under `title`. */
export function printTable(title, rows) {
  const columns = Object.keys(rows[0]);
  const text = rows.map((r) => columns.map((c) => cell(r[c])));
  const width = columns.map((c, i) => Math.max(c.length, ...text.map((t) => t[i].length)));
  const isNumeric = columns.map((c) => rows.every((r) => r[c] === null || r[c] === undefined || typeof r[c] === 'number'));
  const line = (values) => `| ${values.map((v, i) => (isNumeric[i] ? v.padStart(width[i]) : v.padEnd(width[i]))).join(' | ')} |`;
  console.log(`\n${title}\n`);
  console.log(line(columns));
  console.log(`|${width.map((w, i) => (isNumeric[i] ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`);
  for (const t of text) console.log(line(t));
}

export const ratio = (a, b) => (a !== null && b ? Number((a / b).toFixed(2)) : null);

/**
 * The goals of the write-path issue (#17), judged on the figures of this run. The end-to-end ones
 * are ratios to the raw upsert of the same rows into the same tables, measured in the same run,
 * with their change events (the service's end state since #31); the figure gives the ratio to the
 * profile rows alone too.
 * Then those of change events (#31): the feed on each store run, webhooks on SQLite.
 */
export function goals({ P, ceiling, acceptApiOnly, raw, e2e, size, postgres, changes, webhooks }) {
  const byName = Object.fromEntries(e2e.map((e) => [e.workload, e]));
  const goal = (name, isMet, figure) => ({ goal: name, result: isMet ? 'met' : 'NOT met', figure });
  const at = P.profiles === 1_000_000 ? '' : ` (this run: ${P.profiles.toLocaleString('en-US')} profiles, not 1 M)`;
  const rss = Math.max(size.rssMB, ...e2e.map((e) => e.maxRssMB));
  const againstRaw = (label, records, base, share) =>
    goal(
      `${label} ≥ ${share}× raw of the same rows and events`,
      records >= share * base.events,
      `${ratio(records, base.events)}× (${records.toLocaleString('en-US')} vs ${base.events.toLocaleString('en-US')} records/s; ${ratio(records, base.rows)}× the rows alone, ${base.rows.toLocaleString('en-US')})`,
    );
  const rawOf = (r, w) => ({ rows: r[w], events: r.withEvents[w] });
  const serverP99s = e2e.map((e) => e.getProfileServerP99ms);
  return [
    againstRaw('end to end, hot', byName.hot.recordsPerSecond, rawOf(raw, 'hot'), 0.5),
    againstRaw('end to end, cold', byName.cold.recordsPerSecond, rawOf(raw, 'cold'), 0.8),
    againstRaw('end to end, insert', byName.insert.recordsPerSecond, rawOf(raw, 'insert'), 0.6),
    postgres
      ? againstRaw('PostgreSQL: end to end, hot', postgres.e2e[0].recordsPerSecond, rawOf(postgres.raw, 'hot'), 0.5)
      : { goal: 'PostgreSQL: end to end, hot ≥ 0.5× raw pg of the same rows and events', result: 'not run', figure: 'PostgreSQL not selected' },
    goal(
      'accept (serve --no-worker) ≥ 0.5× the HTTP ceiling',
      acceptApiOnly.recordsPerSecond >= 0.5 * ceiling.recordsPerSecond,
      `${ratio(acceptApiOnly.recordsPerSecond, ceiling.recordsPerSecond)}× (${acceptApiOnly.recordsPerSecond.toLocaleString('en-US')} vs ${ceiling.recordsPerSecond.toLocaleString('en-US')} records/s)`,
    ),
    goal('accept p99 ≤ 50 ms at 50 connections', acceptApiOnly.p99 <= 50, `${acceptApiOnly.p99} ms (serve --no-worker; over every request, first ones included: ${acceptApiOnly.allP99} ms)`),
    goal(
      'getProfile p99 ≤ 5 ms (server side) during every end-to-end workload',
      serverP99s.every((p) => p !== null && p <= 5),
      `${e2e.map((e) => `${e.workload} ${e.getProfileServerP99ms}`).join(', ')} ms (client side ${e2e.map((e) => e.getProfileP99ms).join(', ')})`,
    ),
    goal('RSS ≤ 300 MB at 1 M profiles', rss <= 300, `${rss} MB, the largest sampled after loading${at}`),
    { goal: 'flood: tenant B ≤ 1.25× its p99 with A flooding another server', result: 'not run here', figure: 'node bench/flood.mjs --rounds 3 (docs/reliability.md)' },
    ...changes.flatMap((c) => [
      goal(`change feed read ≥ 50,000 events/s (${c.backend})`, c.feedEventsPerSecond >= 50_000, `${c.feedEventsPerSecond.toLocaleString('en-US')} events/s over ${c.events.toLocaleString('en-US')} (raw SELECT ${c.rawEventsPerSecond.toLocaleString('en-US')})`),
      goal(`event lag p99 ≤ 1 s at 1,000 changes/s (${c.backend})`, c.lagP99Ms <= 1000, `${c.lagP99Ms} ms (p50 ${c.lagP50Ms}, max ${c.lagMaxMs}; ${c.lagEvents.toLocaleString('en-US')} events)`),
      goal(`feed long poll answers within wait + 1 s when nothing happens (${c.backend})`, c.idleAnswerMaxMs <= (c.idleWaitSeconds + 1) * 1000, `wait=${c.idleWaitSeconds}: ${c.idleAnswerMaxMs} ms, the longest of 3`),
    ]),
    goal(
      'webhook delivery ≥ 2,000 events/s to a local receiver',
      webhooks.delivery.eventsPerSecond >= 2000,
      `${webhooks.delivery.eventsPerSecond.toLocaleString('en-US')} events/s, ${webhooks.delivery.events.toLocaleString('en-US')} waiting in the feed (raw signed POSTs ${webhooks.delivery.rawEventsPerSecond.toLocaleString('en-US')})`,
    ),
    goal(
      'hot end to end with one webhook endpoint (every type) ≥ 0.8× without',
      webhooks.hot.ratio >= 0.8,
      `${webhooks.hot.ratio}× (${webhooks.hot.withRecordsPerSecond.toLocaleString('en-US')} vs ${webhooks.hot.withoutRecordsPerSecond.toLocaleString('en-US')} records/s, mean of ${webhooks.hot.rounds} each; not yet delivered when the last write was applied: ${webhooks.hot.runs
        .filter((r) => r.endpoint)
        .map((r) => `${r.backlogAtApplied.toLocaleString('en-US')} of ${r.events.toLocaleString('en-US')} events`)
        .join(', ')})`,
    ),
  ];
}
