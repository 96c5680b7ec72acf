import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import proxyaddr from '@fastify/proxy-addr';
import ipaddr from 'ipaddr.js';

/**
 * Decides whether the hop at `hop` (0 = the socket peer, 1 = the right-most `X-Forwarded-For`
 * entry, …) is a proxy we trust to have told the truth about the hop before it.
 * Build one with {@link compileTrustProxy}; it is compiled once at boot and called per request.
 */
export type TrustFunction = (address: string, hop: number) => boolean;

/**
 * The `throttle.trustProxy` option: which proxies in front of the app are believed.
 * - `false`: none; the client is the socket peer, whatever `X-Forwarded-For` says.
 * - a hop count `N`: the `N` proxies nearest the app, whoever they are.
 * - a list of addresses / CIDRs (and the `@fastify/proxy-addr` names `loopback`,
 *   `linklocal`, `uniquelocal`): the proxies whose address is in the list.
 * @default false
 */
export type TrustProxy = false | number | readonly string[];

/**
 * The bucket of every address that cannot be parsed. One fixed bucket, so that rotating
 * garbage values earns an attacker nothing: they all share (and exhaust) the same quota.
 */
export const UNKNOWN_ADDRESS_BUCKET = 'unknown';

/** Believes no proxy: the client is the socket peer. */
export const TRUST_NONE: TrustFunction = () => false;

/**
 * Validates `throttle.trustProxy` and compiles it into the function
 * {@link resolveClientAddress} takes.
 *
 * `true` ("trust every hop") is refused on purpose: it makes the left-most, client-written
 * `X-Forwarded-For` entry the rate-limit key, so any client picks its own bucket.
 * @param trustProxy see {@link TrustProxy}
 * @returns a frozen trust function
 * @throws {TypeError} naming the bad value or entry (the caller adds the option path)
 * @example
 * const trust = compileTrustProxy(['10.0.0.0/8', 'fd00::/8']);
 * resolveClientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], trust);
 */
export function compileTrustProxy(trustProxy: TrustProxy): TrustFunction {
  const value: unknown = trustProxy;
  if (value === false) return TRUST_NONE;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new TypeError(
        `must be false, a non-negative integer hop count or a list of proxy addresses/CIDRs; got the number ${String(value)}`,
      );
    }
    const hops = value;
    return Object.freeze(hops === 0 ? TRUST_NONE : strict((_address, hop) => hop < hops));
  }
  if (Array.isArray(value)) {
    const entries: unknown[] = value;
    entries.forEach((entry, index) => {
      if (typeof entry !== 'string') {
        throw new TypeError(`[${index}] must be a string (an IP address or CIDR)`);
      }
      try {
        // Compiled one by one only to name the bad entry; @fastify/proxy-addr's own message
        // says "invalid IP address" but not which entry of the list.
        proxyaddr.compile(entry);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new TypeError(
          `[${index}] ${JSON.stringify(entry)} is not an IP address, CIDR or address/netmask (${reason})`,
        );
      }
    });
    // An empty list trusts nobody, exactly like `false`.
    return Object.freeze(
      entries.length === 0 ? TRUST_NONE : strict(proxyaddr.compile(entries as string[])),
    );
  }
  throw new TypeError(
    value === true
      ? 'must be false, a hop count or a list of proxy CIDRs; true (trust every hop) is refused because it lets any client choose its own rate-limit key'
      : `must be false, a non-negative integer hop count or a list of proxy addresses/CIDRs; got ${typeof value}`,
  );
}

/**
 * Finds the address of the client as far as the trusted proxies vouch for it: starting at the
 * socket peer, walks `X-Forwarded-For` from the right while the current hop is trusted, and
 * returns the first untrusted hop (or the left-most entry if every hop is trusted).
 *
 * Several `X-Forwarded-For` field lines are one list, in order (RFC 9110 §5.3).
 *
 * An entry that is not a plain IP address (`unknown`, `1.2.3.4:80`, `[::1]`, `127.1`,
 * an obfuscated form such as `0x7f.1`) is never trusted and stops the walk. As it is not an
 * address, the result is the hop that reported it: a trusted proxy (or the socket peer), the
 * closest address that is both real and vouched for. Every client whose chain is broken that
 * way shares that one bucket instead of getting a fresh one per garbage value.
 * @param socketAddress `req.socket.remoteAddress` (undefined once the socket is gone)
 * @param forwardedFor the raw `X-Forwarded-For` header value(s)
 * @param trust from {@link compileTrustProxy}
 * @returns a valid IPv4/IPv6 address as written, or undefined if even the socket peer is not one
 */
export function resolveClientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | readonly string[] | undefined,
  trust: TrustFunction,
): string | undefined {
  // The socket peer comes from the kernel, not the client: Node's own check is enough (and
  // several times cheaper than parsing it, on every request).
  const socket =
    socketAddress !== undefined && isIP(socketAddress) !== 0 ? socketAddress : undefined;
  if (trust === TRUST_NONE || forwardedFor === undefined || socket === undefined) return socket;
  // @fastify/proxy-addr takes a request object but reads only `socket.remoteAddress` and
  // `headers['x-forwarded-for']` (through @fastify/forwarded); a two-field object keeps this
  // function pure and usable with Express, Fastify and raw Node requests alike. It ignores
  // array headers, so several field lines are joined first.
  const request = {
    socket: { remoteAddress: socket },
    headers: {
      'x-forwarded-for': typeof forwardedFor === 'string' ? forwardedFor : forwardedFor.join(', '),
    },
  } as unknown as IncomingMessage;
  const chain = proxyaddr.all(request, trust);
  const last = chain[chain.length - 1];
  if (last !== undefined && isPlainIp(last)) return last;
  // The walk stopped on garbage, which `strict` never trusts, so every earlier hop was trusted
  // and valid; chain.length >= 2 here because chain[0] is the valid socket address.
  return chain[chain.length - 2];
}

/**
 * The rate-limit key of an address:
 * - IPv4: the address itself (`203.0.113.7`);
 * - IPv4-mapped IPv6 (`::ffff:203.0.113.7`, what a dual-stack socket reports): the IPv4;
 * - other IPv6: the /64 it belongs to, RFC 5952 canonical (`2001:db8:1:2::/64`), since one
 *   subscriber or host usually holds a whole /64 and could otherwise rotate through 2^64
 *   buckets; zone ids (`fe80::1%eth0`) are dropped.
 *
 * Anything else returns {@link UNKNOWN_ADDRESS_BUCKET} rather than throwing: the caller is a
 * guard on the request path, where a throw would turn into a 500, and a single shared bucket
 * gives a client sending garbage no fresh quota.
 * @param address an address as returned by {@link resolveClientAddress}
 */
export function addressBucket(address: string): string {
  if (!isPlainIp(address)) return UNKNOWN_ADDRESS_BUCKET;
  const ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv4') return ip.toString();
  const v6 = ip as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  const prefix = new ipaddr.IPv6([...v6.parts.slice(0, 4), 0, 0, 0, 0]);
  return `${prefix.toRFC5952String()}/64`;
}

/**
 * A dotted-quad IPv4 or an IPv6 address. `ipaddr.isValid` alone also accepts `127.1`,
 * `0x7f.0.0.1` and `2130706433`, forms no proxy writes and which would let one client spell
 * the same address many ways.
 */
function isPlainIp(value: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(value) || ipaddr.IPv6.isValid(value);
}

/** Never trusts a hop that is not a plain IP, so the walk stops on garbage. */
function strict(trust: TrustFunction): TrustFunction {
  return (address, hop) => isPlainIp(address) && trust(address, hop);
}
