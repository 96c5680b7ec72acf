import { Socket } from 'node:net';
import { type ConnectionOptions } from 'node:tls';
import { buildConnector, errors } from 'undici';

/**
 * undici's connector with a connect timeout that fires on time. undici arms its own
 * `connect.timeout` on its low-resolution "fast timers" (a 500 ms tick), so a 200 ms timeout
 * fires after about a second and 3050 ms after up to 4 s; this one uses a plain `setTimeout()`.
 * It covers the TCP connect and, for `https:`, the TLS handshake (undici's own definition:
 * until `secureConnect`). undici's timer stays armed at twice the timeout as a backstop, in case
 * a future undici stops returning the socket this one destroys.
 *
 * @param tls client certificate, key and CAs for `https:` origins
 * @param timeoutMs the connect timeout
 */
export function createConnector(
  tls: ConnectionOptions,
  timeoutMs: number,
): buildConnector.connector {
  const connect = buildConnector({
    ...tls,
    rejectUnauthorized: true,
    allowH2: false,
    timeout: timeoutMs * 2,
  });
  return (options, callback) => {
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      if (socket instanceof Socket) socket.destroy();
      callback(
        new errors.ConnectTimeoutError(
          `Connect Timeout Error (attempted address: ${options.hostname}:${options.port}, timeout: ${timeoutMs}ms)`,
        ),
        null,
      );
    }, timeoutMs);
    // The typings say void; undici returns the socket (lib/core/connect.js).
    const socket: unknown = connect(options, (...args) => {
      clearTimeout(timer);
      if (settled) {
        const [, late] = args;
        late?.destroy();
        return;
      }
      settled = true;
      callback(...args);
    });
  };
}
