/** The thread crossing (requests answered by id, notes) and the named lifecycle states, over a MessageChannel. */
import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { Crossing, type Refusal, type Silent } from '../../src/threads/crossing.js';
import { States } from '../../src/threads/states.js';
import { waitFor } from '../support/wait.js';

type Asks = {
  requests: { double: { body: number; answer: number }; never: { body: null; answer: string } };
  notes: { hello: string };
};

class Refused extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.message);
  }
}

describe('Crossing', () => {
  const channels: MessageChannel[] = [];
  const channel = () => {
    const c = new MessageChannel();
    channels.push(c);
    return c;
  };
  afterEach(() => {
    for (const c of channels.splice(0)) c.port1.close();
  });

  it('answers each request its own answer, even out of order, and delivers notes', async () => {
    const { port1, port2 } = channel();
    const heard: string[] = [];
    const held: Array<() => void> = [];
    const asker = new Crossing<Asks, Silent>(port1, { requests: {}, notes: {} });
    new Crossing<Silent, Asks>(port2, {
      // Answers the odd numbers at once and the even ones later, in reverse.
      requests: { double: (n, answer) => (n % 2 ? answer(2 * n) : held.unshift(() => answer(2 * n))), never: () => {} },
      notes: { hello: (s) => heard.push(s) },
    });
    const answers = Promise.all([1, 2, 3, 4, 5, 6].map((n) => asker.request('double', n)));
    asker.notify('hello', 'there');
    await waitFor(() => held.length === 3, { timeoutMs: 5_000, description: 'the even requests to arrive' });
    for (const answer of held) answer();
    expect(await answers).toEqual([2, 4, 6, 8, 10, 12]);
    expect(heard).toEqual(['there']);
  });

  it('sends the requests of one turn in one message', async () => {
    const { port1, port2 } = channel();
    const messages: unknown[] = [];
    port2.on('message', (m) => messages.push(m));
    const asker = new Crossing<Asks, Silent>(port1, { requests: {}, notes: {} });
    new Crossing<Silent, Asks>(port2, { requests: { double: (n, answer) => answer(2 * n), never: () => {} }, notes: { hello: () => {} } });
    const answers = await Promise.all(Array.from({ length: 10 }, (_, n) => asker.request('double', n)));
    expect(answers).toEqual(Array.from({ length: 10 }, (_, n) => 2 * n));
    expect(messages).toHaveLength(1);
    expect((messages[0] as { requests: unknown[] }).requests).toHaveLength(10);
  });

  it('rejects a refused request with the error its refusal makes', async () => {
    const { port1, port2 } = channel();
    const asker = new Crossing<Asks, Silent>(port1, { requests: {}, notes: {} }, (r) => new Refused(r));
    new Crossing<Silent, Asks>(port2, { requests: { double: (_, __, refuse) => refuse({ message: 'odd day', isUnavailable: false }), never: () => {} }, notes: { hello: () => {} } });
    const err = await asker.request('double', 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Refused);
    expect((err as Refused).refusal).toEqual({ message: 'odd day', isUnavailable: false });
  });

  it('refuses the requests not answered when the other side goes away, and every one after', async () => {
    const { port1, port2 } = channel();
    const asker = new Crossing<Asks, Silent>(port1, { requests: {}, notes: {} }, (r) => new Refused(r));
    let arrived = false;
    new Crossing<Silent, Asks>(port2, { requests: { double: () => {}, never: () => (arrived = true) }, notes: { hello: () => {} } });
    const unanswered = asker.request('never', null).catch((e: unknown) => e);
    await waitFor(() => arrived, { timeoutMs: 5_000, description: 'the request to arrive' });
    port2.close();
    const err = await unanswered;
    expect(err).toBeInstanceOf(Refused);
    expect((err as Refused).refusal.isUnavailable).toBe(true);
    await expect(asker.request('double', 1)).rejects.toBeInstanceOf(Refused);
  });
});

describe('States', () => {
  it('moves along the transitions it was given and throws on any other', () => {
    const s = new States<'off' | 'on' | 'broken'>({ off: ['on'], on: ['off', 'broken'], broken: [] }, 'off');
    s.to('on');
    s.to('broken');
    expect(s.state).toBe('broken');
    expect(() => s.to('on')).toThrow('no transition from broken to on');
    expect(s.state).toBe('broken');
  });
});
