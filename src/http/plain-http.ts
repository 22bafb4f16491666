import type { Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import { closeLingering } from './lingering-close.js';

/**
 * Plain HTTP sent to the HTTPS port. TLS alone drops the connection, which clients report as an
 * empty reply; like nginx, the server answers 400 with a short plain-text hint instead.
 */

const HINT = 'This port speaks HTTPS only: send the request again with https://\n';
export const PLAIN_HTTP_ANSWER =
  `HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(HINT)}\r\n\r\n${HINT}`;

/** A TLS connection opens with a handshake record (0x16); an HTTP request with its method's first letter. */
const isPlainHttp = (first: Buffer) => first[0] >= 0x41 && first[0] <= 0x5a;

/**
 * Puts a look at each connection's first bytes in front of `server`'s TLS: plain HTTP gets the
 * hint (and `onAnswer` is called), anything else goes on to TLS with those bytes unread. A
 * connection that sends nothing for `timeoutMs` is closed.
 */
export function answerPlainHttp(server: TlsServer, timeoutMs: number, onAnswer: () => void): void {
  const startTls = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    const onError = () => socket.destroy();
    socket.on('error', onError);
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.setTimeout(0);
      socket.removeListener('error', onError);
      if (isPlainHttp(first)) {
        closeLingering(socket, PLAIN_HTTP_ANSWER);
        return onAnswer();
      }
      // TLS reads what is already buffered on the socket before its handle (tls.TLSSocket's initRead).
      socket.unshift(first);
      for (const listener of startTls) listener.call(server, socket);
    });
  });
}
