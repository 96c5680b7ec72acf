import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createTestPki, type TestPki } from './test-pki.js';
import { httpRequest } from './http-request.js';

interface Echo {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly body: string;
}

async function echo(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    chunks.push(chunk as Buffer);
  }
  const body: Echo = {
    method: req.method ?? '',
    url: req.url ?? '',
    rawHeaders: req.rawHeaders,
    body: Buffer.concat(chunks).toString(),
  };
  return JSON.stringify(body);
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  );
}

/** Pairs of (name, value) from a rawHeaders list, names lower-cased. */
function pairs(rawHeaders: readonly string[]): [string, string][] {
  const result: [string, string][] = [];
  for (let index = 0; index < rawHeaders.length; index += 2) {
    result.push([rawHeaders[index]?.toLowerCase() ?? '', rawHeaders[index + 1] ?? '']);
  }
  return result;
}

describe('httpRequest()', () => {
  let server: Server;
  let base: string;
  let pending: Set<() => void>;

  beforeAll(async () => {
    pending = new Set();
    server = createHttpServer((req, res) => {
      if (req.url === '/hang') {
        pending.add(() => res.end());
        return;
      }
      if (req.url === '/redirect') {
        res.writeHead(302, { location: '/elsewhere', 'set-cookie': ['a=1', 'b=2'] }).end();
        return;
      }
      void echo(req).then((body) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(body),
      );
    });
    base = `http://${await listen(server)}`;
  });

  afterAll(async () => {
    await stop(server);
  });

  it('sends duplicate raw header pairs as separate lines, in order, with a Host first', async () => {
    const res = await httpRequest(`${base}/dup`, {
      headers: [
        ['Authorization', 'Bearer one'],
        ['X-Forwarded-For', '10.0.0.1'],
        ['Authorization', 'Bearer two'],
      ],
    });
    const received = res.json<Echo>();

    expect(res.status).toBe(200);
    expect(pairs(received.rawHeaders).slice(0, 4)).toEqual([
      ['host', base.slice('http://'.length)],
      ['authorization', 'Bearer one'],
      ['x-forwarded-for', '10.0.0.1'],
      ['authorization', 'Bearer two'],
    ]);
  });

  it('sends an array value of the object form as one line per value', async () => {
    const res = await httpRequest(`${base}/dup`, { headers: { 'x-api-key': ['k1', 'k2'] } });
    const received = pairs(res.json<Echo>().rawHeaders).filter(([name]) => name === 'x-api-key');
    expect(received).toEqual([
      ['x-api-key', 'k1'],
      ['x-api-key', 'k2'],
    ]);
  });

  it.each([
    ['object headers', {}],
    ['raw pairs', [['x-test', '1']] as const],
  ])('sends a bodiless PUT with Content-Length 0, never chunked (%s)', async (_kind, headers) => {
    const res = await httpRequest(`${base}/put`, { method: 'PUT', headers });
    const received = pairs(res.json<Echo>().rawHeaders);
    expect(received).toContainEqual(['content-length', '0']);
    expect(received.map(([name]) => name)).not.toContain('transfer-encoding');
  });

  it('adds no Content-Length to a bodiless GET with raw pairs', async () => {
    const res = await httpRequest(`${base}/get`, { headers: [['x-test', '1']] });
    expect(pairs(res.json<Echo>().rawHeaders).map(([name]) => name)).not.toContain(
      'content-length',
    );
  });

  it.each(['TRACE', 'PATCH', 'OPTIONS', 'PROPFIND'])('sends method %s', async (method) => {
    const res = await httpRequest(`${base}/m?q=1`, { method });
    expect(res.json<Echo>()).toMatchObject({ method, url: '/m?q=1' });
  });

  it.each([
    ['GET', 'string', 'héllo'],
    ['DELETE', 'raw pairs', Buffer.from([0x7b, 0x7d])],
  ])('frames a %s body (%s) with Content-Length', async (method, _kind, body) => {
    const headers = typeof body === 'string' ? {} : [['content-type', 'application/json'] as const];
    const res = await httpRequest(`${base}/body`, { method, body, headers });
    const received = res.json<Echo>();
    expect(received.body).toBe(body.toString());
    expect(pairs(received.rawHeaders)).toContainEqual([
      'content-length',
      String(Buffer.byteLength(body)),
    ]);
  });

  it('does not follow redirects and keeps duplicate response headers raw', async () => {
    const res = await httpRequest(`${base}/redirect`);
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/elsewhere');
    expect(pairs(res.rawHeaders).filter(([name]) => name === 'set-cookie')).toEqual([
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
    ]);
    expect(res.text).toBe('');
  });

  it('rejects on timeout with ETIMEDOUT', async () => {
    await expect(httpRequest(`${base}/hang`, { timeoutMs: 50 })).rejects.toMatchObject({
      code: 'ETIMEDOUT',
      message: `httpRequest: no complete response to GET ${base}/hang within 50 ms`,
    });
    expect(pending.size).toBe(1);
  });

  it('json() names the status and quotes the body when it is not JSON', async () => {
    const res = await httpRequest(`${base}/redirect`, { method: 'HEAD' });
    expect(() => res.json()).toThrow(
      `httpRequest: the 302 response to HEAD ${base}/redirect is not JSON: ""`,
    );
  });

  it('refuses other schemes and tls options for http: URLs', async () => {
    await expect(httpRequest('ftp://127.0.0.1/')).rejects.toThrow(
      'httpRequest: only http: and https: URLs are supported (got ftp://127.0.0.1/)',
    );
    await expect(httpRequest(`${base}/`, { tls: { servername: 'x' } })).rejects.toThrow(
      `httpRequest: "tls" applies to https: URLs only (got ${base}/)`,
    );
  });

  it('rejects with the socket error when nothing listens', async () => {
    const closed = createHttpServer();
    const address = await listen(closed);
    await stop(closed);
    await expect(httpRequest(`http://${address}/`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('httpRequest() over https', () => {
  let server: Server;
  let base: string;
  let pki: TestPki;

  beforeAll(async () => {
    pki = await createTestPki();
    server = createHttpsServer({ cert: pki.server.cert, key: pki.server.key }, (req, res) => {
      void echo(req).then((body) => res.end(body));
    });
    base = `https://${await listen(server)}`;
  });

  afterAll(async () => {
    await stop(server);
  });

  it('trusts the server through tls.ca', async () => {
    const res = await httpRequest(`${base}/secure`, {
      method: 'TRACE',
      tls: { ca: pki.ca.cert },
    });
    expect(res.status).toBe(200);
    expect(res.json<Echo>()).toMatchObject({ method: 'TRACE', url: '/secure' });
  });

  it('rejects a certificate it was not told to trust', async () => {
    await expect(httpRequest(`${base}/secure`)).rejects.toMatchObject({
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
  });
});
