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

/** The goals of the benchmark issue, judged on the figures of this run. */
export function goals({ P, ceiling, acceptApiOnly, acceptServe, raw, e2e, size, postgres }) {
  const byName = Object.fromEntries(e2e.map((e) => [e.workload, e]));
  const goal = (name, isMet, figure) => ({ goal: name, result: isMet ? 'met' : 'NOT met', figure });
  const at = P.profiles === 1_000_000 ? '' : ` (this run: ${P.profiles.toLocaleString('en-US')} profiles, not 1 M)`;
  const worstRead = e2e.reduce((w, e) => (e.getProfileP99ms > w.getProfileP99ms ? e : w));
  const rss = Math.max(size.rssMB, ...e2e.map((e) => e.maxRssMB));
  const hot = byName.hot;
  const isHotBounded = hot.refused503 === 0 && hot.maxQueueDepthRecords < P.queueLimit;
  const rows = [
    goal(
      'accept ≥ 50% of bare-HTTP records/s',
      acceptApiOnly.recordsPerSecond >= 0.5 * ceiling.recordsPerSecond,
      `${ratio(acceptApiOnly.recordsPerSecond, ceiling.recordsPerSecond)}× API only (${acceptServe.recordsPerSecond.toLocaleString('en-US')} records/s = ${ratio(acceptServe.recordsPerSecond, ceiling.recordsPerSecond)}× with the worker in process)`,
    ),
    goal(
      'end to end, hot ≥ 100,000 records/s, queue bounded',
      hot.recordsPerSecond >= 100_000 && isHotBounded,
      `${hot.recordsPerSecond.toLocaleString('en-US')} records/s; queue max ${hot.maxQueueDepthRecords.toLocaleString('en-US')} records, ${hot.refused503} refusals (${isHotBounded ? 'bounded' : 'NOT bounded'})`,
    ),
    ...['cold', 'insert'].map((w) => {
      const base = w === 'insert' ? raw.insertsPerSecond : raw.updatesPerSecond;
      return goal(`end to end, ${w} ≥ 1.0× raw upsert`, byName[w].recordsPerSecond >= base, `${ratio(byName[w].recordsPerSecond, base)}× (${byName[w].recordsPerSecond.toLocaleString('en-US')} vs ${base.toLocaleString('en-US')} records/s)`);
    }),
    goal(
      'accept p99 ≤ 25 ms at 50 connections',
      acceptApiOnly.p99 <= 25,
      `${acceptApiOnly.p99} ms API only (${acceptServe.p99} ms with the worker in process); over every request, first ones included: ${acceptApiOnly.allP99} ms`,
    ),
    goal(
      'getProfile p99 ≤ 5 ms during end to end',
      worstRead.getProfileP99ms <= 5,
      `${worstRead.getProfileP99ms} ms (worst workload: ${worstRead.workload}; ${e2e.map((e) => `${e.workload} ${e.getProfileP99ms}`).join(', ')}; server side ${e2e.map((e) => e.getProfileServerP99ms).join(', ')})`,
    ),
    goal('RSS ≤ 300 MB with 1 M profiles', rss <= 300, `${rss} MB, the largest sampled after loading${at}`),
    postgres
      ? goal('PostgreSQL: end to end, hot ≥ 50,000 records/s', postgres.e2e[0].recordsPerSecond >= 50_000, `${postgres.e2e[0].recordsPerSecond.toLocaleString('en-US')} records/s`)
      : { goal: 'PostgreSQL', result: 'not run', figure: 'PostgreSQL not selected (npm run bench -- --postgres)' },
  ];
  return rows;
}
