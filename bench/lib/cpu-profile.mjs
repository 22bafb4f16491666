// Reading a V8 `.cpuprofile` (what `node --cpu-prof` writes at exit): self and total time per
// function, so a profile can be quoted in a table instead of opened in a browser.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `functionName (file:line)`, with paths shortened to the repository or the package. */
function label({ functionName, url, lineNumber }) {
  const name = functionName || '(anonymous)';
  if (!url) return name;
  let file = url.replace(/^file:\/\//, '');
  if (file.startsWith(ROOT)) file = file.slice(ROOT.length);
  file = file.replace(/^.*node_modules\//, '');
  return `${name} (${file}:${lineNumber + 1})`;
}

/**
 * Self and total time of each function, as percentages of the profile's sampled time.
 * Total time counts a function once per stack, however often it recurses.
 * Returns the `top` rows by self time, plus the same rows by total time.
 */
export function summarize(path, top = 20) {
  const profile = JSON.parse(readFileSync(path, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map();
  let sampledUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
    sampledUs += dt;
  }
  const self = new Map();
  const total = new Map();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    const key = label(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + us);
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const k = label(byId.get(at).callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + us);
    }
  }
  const pct = (us) => Number(((100 * us) / sampledUs).toFixed(1));
  const idle = self.get('(idle)') ?? 0;
  const rows = (map) =>
    [...map.entries()]
      .filter(([k]) => k !== '(root)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([fn, us]) => ({ fn, selfPct: pct(self.get(fn) ?? 0), totalPct: pct(total.get(fn) ?? 0) }));
  return { seconds: Number((sampledUs / 1e6).toFixed(1)), idlePct: pct(idle), bySelf: rows(self), byTotal: rows(total) };
}
