/**
 * The embedded store's durability order, read from its system calls. A power cut loses what was
 * written but not fsync'd; an answered write lives in the journal until its apply is in the
 * store. So once the applier starts deleting the journal's rows, no write may reach the journal
 * while a write to the store's files is not yet fsync'd: otherwise a cut can keep the delete and
 * lose the apply (issue #32: a commit that changes nothing writes nothing and syncs nothing).
 *
 * `test/support/apply-rounds.mjs` runs rounds of "enqueue one, apply until drained" on the built
 * store under strace (`test/support/strace.ts`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { hasStrace, isSync, isWrite, readStraceLog, straceOptions, type SystemCall } from '../support/strace.js';

const ROUNDS_SCRIPT = fileURLToPath(new URL('../support/apply-rounds.mjs', import.meta.url));

interface Trace {
  /** Writes to the journal's files while the applier ran, and what was then not yet fsync'd in the store. */
  journalWritesWhileApplying: Array<{ call: number; unsynced: string[] }>;
  storeWrites: number;
  storeSyncs: number;
}

/** Which store files were written and not yet fsync'd at each write to the journal, by phase. */
function readTrace(calls: SystemCall[], dataDir: string, phaseFile: string): Trace {
  const store = new Set([join(dataDir, 'openprofiles.db'), join(dataDir, 'openprofiles.db-wal')]);
  const journal = new Set([join(dataDir, 'openprofiles.db.journal'), join(dataDir, 'openprofiles.db.journal-wal')]);
  const unsynced = new Set<string>();
  const trace: Trace = { journalWritesWhileApplying: [], storeWrites: 0, storeSyncs: 0 };
  let phase = '';
  calls.forEach((c, i) => {
    if (c.fdPath === phaseFile && isWrite(c)) phase = (c.strings[0] ?? '').replace(/\\n$/, '');
    else if (c.fdPath && store.has(c.fdPath) && isWrite(c)) {
      unsynced.add(c.fdPath);
      trace.storeWrites++;
    } else if (c.fdPath && store.has(c.fdPath) && isSync(c)) {
      unsynced.delete(c.fdPath);
      trace.storeSyncs++;
    } else if (c.fdPath && journal.has(c.fdPath) && isWrite(c) && phase === 'apply') {
      trace.journalWritesWhileApplying.push({ call: i, unsynced: [...unsynced] });
    }
  });
  return trace;
}

describe('embedded store: durability order (strace)', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('deletes no journal row before the store has fsync\'d the applies it covers, also when the queue drains between writes', () => {
    expect(hasStrace(), 'strace is needed to read the system calls: apt-get install strace').toBe(true);
    dir = mkdtempSync(join(tmpdir(), 'openprofiles-durability-'));
    const logFile = join(dir, 'strace.log');
    const rounds = 4;
    const out = execFileSync(
      'strace',
      [...straceOptions(logFile, ['write', 'pwrite64', 'writev', 'pwritev', 'fsync', 'fdatasync']), process.execPath, ROUNDS_SCRIPT, dir, String(rounds)],
      { encoding: 'utf8', timeout: 120_000 },
    );
    const result = JSON.parse(out.trim().split('\n').at(-1)!);
    // Every round applied, and its journal row was deleted (so the rule below was exercised).
    expect(result).toEqual({ journalRows: 0, applied: rounds });

    const trace = readTrace(readStraceLog(readFileSync(logFile, 'utf8')), join(dir, 'data'), join(dir, 'phase'));
    expect(trace.storeWrites).toBeGreaterThan(0);
    expect(trace.storeSyncs).toBeGreaterThan(0);
    expect(trace.journalWritesWhileApplying.length).toBeGreaterThanOrEqual(rounds);
    expect(trace.journalWritesWhileApplying.filter((w) => w.unsynced.length > 0)).toEqual([]);
  });
});
