// The accept scenario alone (serve --no-worker, 50 connections, 15 s, with its HTTP ceiling each
// time), alternating two built checkouts, to compare the acceptance path of two commits:
//   node bench/accept-pair.mjs <checkout A> <checkout B> [rounds=3]
// Each checkout needs `npm run build` (and its node_modules). Prints each round's ratio to the ceiling.
const [a, b, roundsArg] = process.argv.slice(2);
if (!a || !b) {
  console.error('usage: node bench/accept-pair.mjs <checkout A> <checkout B> [rounds]');
  process.exit(2);
}
const P = { connections: 50, acceptSeconds: 15 };
const rounds = Number(roundsArg ?? 3);
const trees = { A: a, B: b };
const scenarios = {};
for (const [name, dir] of Object.entries(trees)) scenarios[name] = await import(new URL(`file://${dir.replace(/\/$/, '')}/bench/scenarios/accept.mjs`).href);
for (let round = 1; round <= rounds; round++) {
  // Alternate which goes first, so a machine slowing down during a round weighs on both.
  for (const name of round % 2 ? ['A', 'B'] : ['B', 'A']) {
    const ceiling = await scenarios[name].httpCeiling(P);
    const accept = await scenarios[name].accept(P, { isApiOnly: true });
    console.log(`round ${round} ${name} (${trees[name]}): accept ${accept.recordsPerSecond} records/s, p99 ${accept.p99} ms; ceiling ${ceiling.recordsPerSecond}; ratio ${(accept.recordsPerSecond / ceiling.recordsPerSecond).toFixed(2)}`);
  }
}
