/** Tenants take turns for the server thread's heavy work: a budget of body bytes each per turn of the event loop. */
import { describe, expect, it } from 'vitest';
import { TenantTurns } from '../../src/write/1-take.js';

/** Lets one turn of the event loop pass (a turn TenantTurns scheduled before runs first). */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('TenantTurns', () => {
  it("handles a tenant's bodies at once until they reach its budget for this turn", async () => {
    const turns = new TenantTurns(100);
    const ran: string[] = [];
    for (const name of ['a', 'b', 'c', 'd']) turns.run(1, 40, () => ran.push(name));
    // 40 + 40 + 40 passes 100 with the third; the fourth waits.
    expect(ran).toEqual(['a', 'b', 'c']);
    expect(turns.size).toBe(1);
    await nextTurn();
    expect(ran).toEqual(['a', 'b', 'c', 'd']);
    // A new turn, a new budget.
    await nextTurn();
    turns.run(1, 40, () => ran.push('e'));
    expect(ran.at(-1)).toBe('e');
  });

  it("gives each waiting tenant one budget per turn, so a quiet tenant's body waits for one budget of a burst", async () => {
    const turns = new TenantTurns(100);
    const ran: string[] = [];
    // A burst of six 60-byte bodies from tenant 1, then one small body of tenant 2, in one turn.
    for (const name of ['1a', '1b', '1c', '1d', '1e', '1f']) turns.run(1, 60, () => ran.push(name));
    turns.run(2, 1, () => ran.push('2a'));
    expect(ran).toEqual(['1a', '1b']);
    await nextTurn();
    expect(ran).toEqual(['1a', '1b', '1c', '1d', '2a']);
    // Someone waits, so a body that arrives now waits too, even within its tenant's budget.
    turns.run(3, 1, () => ran.push('3a'));
    expect(ran.at(-1)).toBe('2a');
    await nextTurn();
    expect(ran).toEqual(['1a', '1b', '1c', '1d', '2a', '1e', '1f', '3a']);
    expect(turns.size).toBe(0);
  });

  it('handles every body at once with no budget (PROFILES_TENANT_TURN_BYTES=0)', () => {
    const turns = new TenantTurns(Infinity);
    const ran: number[] = [];
    for (let i = 0; i < 50; i++) turns.run(i % 2, 1_000_000, () => ran.push(i));
    expect(ran).toHaveLength(50);
  });

  it('handles a body larger than the budget on its own', async () => {
    const turns = new TenantTurns(100);
    const ran: string[] = [];
    turns.run(1, 500, () => ran.push('big'));
    turns.run(1, 1, () => ran.push('small'));
    expect(ran).toEqual(['big']);
    await nextTurn();
    expect(ran).toEqual(['big', 'small']);
  });
});
