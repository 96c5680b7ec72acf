import {
  UNKNOWN_ADDRESS_BUCKET,
  addressBucket,
  compileTrustProxy,
  resolveClientAddress,
  type TrustProxy,
} from './client-address.js';

const PROXY = '10.0.0.2';
const CLIENT = '203.0.113.7';

describe('compileTrustProxy', () => {
  it.each<[string, unknown, string]>([
    ['a negative hop count', -1, 'got the number -1'],
    ['a fractional hop count', 1.5, 'got the number 1.5'],
    ['NaN', Number.NaN, 'got the number NaN'],
    ['Infinity', Number.POSITIVE_INFINITY, 'got the number Infinity'],
    ['true', true, 'true (trust every hop) is refused'],
    ['a bare string', '10.0.0.0/8', 'got string'],
    ['an object', {}, 'got object'],
    ['a non-string entry', ['10.0.0.0/8', 7], '[1] must be a string'],
    ['a bad address', ['10.0.0.0/8', '10.0.0.256'], '[1] "10.0.0.256" is not an IP address'],
    ['a hostname', ['proxy.internal'], '[0] "proxy.internal" is not an IP address'],
    ['a prefix too long', ['::1', '10.0.0.0/33'], '[1] "10.0.0.0/33" is not an IP address'],
    ['a /0 that trusts everyone', ['0.0.0.0/0'], '[0] "0.0.0.0/0" is not an IP address'],
    ['an IPv6 /0', ['::/0'], '[0] "::/0" is not an IP address'],
  ])('refuses %s with a TypeError naming it', (_label, value, message) => {
    expect(() => compileTrustProxy(value as TrustProxy)).toThrow(TypeError);
    expect(() => compileTrustProxy(value as TrustProxy)).toThrow(message);
  });

  it.each<[string, TrustProxy]>([
    ['false', false],
    ['0 hops', 0],
    ['3 hops', 3],
    ['an empty list', []],
    ['CIDRs, netmasks and named ranges', ['10.0.0.0/8', '192.168.0.0/255.255.0.0', 'loopback']],
    ['IPv6 CIDRs', ['fd00::/8', '2001:db8::1']],
  ])('accepts %s', (_label, value) => {
    expect(compileTrustProxy(value)).toEqual(expect.any(Function));
  });
});

describe('resolveClientAddress', () => {
  type Case = [
    label: string,
    trust: TrustProxy,
    socket: string | undefined,
    xff: string | readonly string[] | undefined,
    expected: string | undefined,
  ];

  it.each<Case>([
    // trustProxy false: the header is ignored, however it is spelled.
    ['false, no header', false, CLIENT, undefined, CLIENT],
    ['false, one entry', false, PROXY, '198.51.100.1', PROXY],
    ['false, two entries', false, PROXY, '198.51.100.2, 198.51.100.3', PROXY],
    ['false, two lines', false, PROXY, ['198.51.100.4', '198.51.100.5'], PROXY],
    // Hop counts: the right-most untrusted hop, never the client-written left-most one.
    ['1 hop, no header', 1, CLIENT, undefined, CLIENT],
    ['1 hop, one entry', 1, PROXY, CLIENT, CLIENT],
    ['1 hop, spoofed left-most entries', 1, PROXY, `1.1.1.1, 8.8.8.8, ${CLIENT}`, CLIENT],
    ['1 hop, OWS and empty members', 1, PROXY, ` 1.1.1.1 ,, ${CLIENT}  `, CLIENT],
    ['2 hops', 2, PROXY, `6.6.6.6, ${CLIENT}, 10.0.0.3`, CLIENT],
    ['2 hops, fewer entries than hops', 2, PROXY, CLIENT, CLIENT],
    ['3 hops', 3, PROXY, `6.6.6.6, ${CLIENT}, 10.0.0.4, 10.0.0.3`, CLIENT],
    ['0 hops is false', 0, PROXY, CLIENT, PROXY],
    // Several field lines are one list, in order (RFC 9110 §5.3).
    ['1 hop, two lines', 1, PROXY, ['6.6.6.6', CLIENT], CLIENT],
    ['2 hops, two lines', 2, PROXY, [`6.6.6.6, ${CLIENT}`, '10.0.0.3'], CLIENT],
    ['1 hop, empty list of lines', 1, PROXY, [], PROXY],
    // CIDR lists: skip trusted proxies from the right.
    ['CIDR, untrusted socket', ['10.0.0.0/8'], CLIENT, '6.6.6.6', CLIENT],
    ['CIDR, one proxy', ['10.0.0.0/8'], PROXY, `6.6.6.6, ${CLIENT}`, CLIENT],
    [
      'CIDR, chain of proxies',
      ['10.0.0.0/8'],
      PROXY,
      `6.6.6.6, ${CLIENT}, 10.9.9.9, 10.1.1.1`,
      CLIENT,
    ],
    [
      'CIDR, a spoofed trusted address left of the client',
      ['10.0.0.0/8'],
      PROXY,
      `10.5.5.5, ${CLIENT}`,
      CLIENT,
    ],
    ['CIDR, every hop trusted', ['10.0.0.0/8'], PROXY, '10.1.1.1, 10.2.2.2', '10.1.1.1'],
    ['CIDR, mapped socket', ['10.0.0.0/8'], `::ffff:${PROXY}`, CLIENT, CLIENT],
    ['CIDR, IPv6 proxy and client', ['fd00::/8'], 'fd00::2', '6.6.6.6, 2001:db8::7', '2001:db8::7'],
    [
      'CIDR, IPv6 chain',
      ['fd00::/8', '2001:db8:ffff::/48'],
      'fd00::2',
      '2001:db8:1::9, 2001:db8:ffff::1',
      '2001:db8:1::9',
    ],
    ['CIDR, IPv6 outside the list', ['fd00::/8'], '2001:db8::2', '2001:db8::7', '2001:db8::2'],
    // Garbage stops the walk; the answer is the trusted hop that reported it.
    ['1 hop, garbage entry', 1, PROXY, 'unknown', PROXY],
    ['1 hop, a port', 1, PROXY, `${CLIENT}:4711`, PROXY],
    ['1 hop, a bracketed IPv6', 1, PROXY, '[2001:db8::7]', PROXY],
    ['1 hop, a short IPv4 form', 1, PROXY, '127.1', PROXY],
    ['1 hop, a hex IPv4 form', 1, PROXY, '0x7f.0.0.1', PROXY],
    ['1 hop, a decimal IPv4 form', 1, PROXY, '2130706433', PROXY],
    ['1 hop, garbage left of the client', 1, PROXY, `<script>, ${CLIENT}`, CLIENT],
    ['2 hops, garbage as the middle hop', 2, PROXY, `${CLIENT}, garbage`, PROXY],
    ['3 hops, garbage past a valid hop', 3, PROXY, `${CLIENT}, garbage, 10.0.0.3`, '10.0.0.3'],
    ['CIDR, garbage', ['10.0.0.0/8'], PROXY, `${CLIENT}, not-an-ip`, PROXY],
    [
      'CIDR, garbage shaped like a trusted range',
      ['loopback'],
      '127.0.0.1',
      `${CLIENT}, 127.1`,
      '127.0.0.1',
    ],
    // The socket peer is never replaced by something that is not an address.
    ['no socket address', 1, undefined, CLIENT, undefined],
    ['no socket address, false', false, undefined, CLIENT, undefined],
    ['a garbage socket address', 1, 'nope', CLIENT, undefined],
  ])('%s', (_label, trustProxy, socket, xff, expected) => {
    expect(resolveClientAddress(socket, xff, compileTrustProxy(trustProxy))).toBe(expected);
  });

  it.each<[string, TrustProxy, string]>([
    ['trustProxy false', false, PROXY],
    ['trustProxy 1', 1, '198.51.100.250'],
  ])(
    'with %s, rotating the left-most X-Forwarded-For entry never changes the address',
    (_label, trustProxy, expected) => {
      const trust = compileTrustProxy(trustProxy);
      const seen = new Set<string | undefined>();
      for (let i = 0; i < 200; i += 1) {
        seen.add(
          resolveClientAddress(PROXY, `198.51.${i % 256}.${(i * 7) % 256}, 198.51.100.250`, trust),
        );
      }
      expect([...seen]).toEqual([expected]);
    },
  );
});

describe('addressBucket', () => {
  it.each<[string, string]>([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::ffff:cb00:7107', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:DB8:0001:0002::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8::/64'],
    ['2001:0:0:0:ffff::1', '2001::/64'],
    ['fe80::1%eth0', 'fe80::/64'],
    ['fe80::1', 'fe80::/64'],
    ['::1', '::/64'],
    ['', UNKNOWN_ADDRESS_BUCKET],
    ['unknown', UNKNOWN_ADDRESS_BUCKET],
    ['127.1', UNKNOWN_ADDRESS_BUCKET],
    ['203.0.113.7:80', UNKNOWN_ADDRESS_BUCKET],
    ['[2001:db8::1]', UNKNOWN_ADDRESS_BUCKET],
    ['2001:db8::1/64', UNKNOWN_ADDRESS_BUCKET],
  ])('puts %j in bucket %j', (address, bucket) => {
    expect(addressBucket(address)).toBe(bucket);
  });

  it('puts 1,000 addresses of one /64 in one bucket', () => {
    const buckets = new Set<string>();
    for (let i = 0; i < 1000; i += 1) {
      // Spread the counter over all four interface-id groups so every group varies.
      const groups = [i, i * 31, i * 977, i * 65_521].map((n) => (n % 0x10000).toString(16));
      buckets.add(addressBucket(`2001:db8:aa:bb:${groups.join(':')}`));
    }
    expect([...buckets]).toEqual(['2001:db8:aa:bb::/64']);
  });

  it('puts addresses of 1,000 different /64s in 1,000 buckets', () => {
    const buckets = new Set<string>();
    for (let i = 0; i < 1000; i += 1) {
      buckets.add(addressBucket(`2001:db8:${(i >> 8).toString(16)}:${(i & 0xff).toString(16)}::1`));
    }
    expect(buckets.size).toBe(1000);
  });

  it('gives distinct IPv4 addresses distinct buckets', () => {
    const buckets = new Set<string>();
    for (let i = 0; i < 256; i += 1) buckets.add(addressBucket(`198.51.100.${i}`));
    expect(buckets.size).toBe(256);
  });

  it('puts rotating garbage into one bucket', () => {
    const buckets = new Set<string>();
    for (let i = 0; i < 100; i += 1) buckets.add(addressBucket(`garbage-${i}`));
    expect([...buckets]).toEqual([UNKNOWN_ADDRESS_BUCKET]);
  });
});
