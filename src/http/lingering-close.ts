import type { Socket } from 'node:net';

/**
 * Closing a connection whose client is still sending (a body or headers over a limit, refused
 * before they were read) resets it, and a reset can discard the answer before the client reads
 * it. So a refused connection closes as common servers close it: the answer is sent and the
 * sending side shut, then whatever the client still sends is read and discarded until it closes
 * its side or `LINGER_MS` pass.
 */

/** The longest a refused client may go on sending after its answer, ms. */
export const LINGER_MS = 5000;

const lingering = new WeakSet<Socket>();

/** True once `closeLingering` took the socket: it is answered, and only read until it closes. */
export const isLingering = (socket: Socket): boolean => lingering.has(socket);

/** Sends `answer` (if any), shuts the sending side and discards what arrives until the client closes or `ms` pass. */
export function closeLingering(socket: Socket, answer?: string, ms = LINGER_MS): void {
  if (lingering.has(socket)) return;
  lingering.add(socket);
  socket.on('error', () => undefined);
  if (answer === undefined) socket.end();
  else socket.end(answer);
  const timer = setTimeout(() => socket.destroy(), ms);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.resume();
}

/**
 * Makes Node's close after an answer with `Connection: close` (its `destroySoon` once the
 * response is written) a lingering one, for a request whose body is still arriving.
 */
export function lingerAfterAnswer(socket: Socket): void {
  (socket as Socket & { destroySoon: () => void }).destroySoon = () => closeLingering(socket);
}
