// The server of the TLS benchmark, run as a child process of bench/tls.mjs: a Nest app with
// SecureApiModule and two @Public() routes, served over one of three transports:
//
//   --transport plain   HTTP, no `tls` option
//   --transport tls     HTTPS, server-only TLS: createHttpsOptions({ certFile, keyFile,
//                       clientCertificate: 'none' }) and the module's `tls` option with the
//                       same files
//   --transport mtls    HTTPS, mutual TLS: the same with caFile and clientCertificate: 'require'
//                       (a client without a certificate from that CA fails the handshake)
//
//   GET /hello   {"ok":true}, what the load generator asks for
//   GET /peer    {"tls":<connection encrypted>,"spiffeId":<the verified client certificate's
//                SPIFFE ID, or null>}, for the runner's preflight
//
// It prints one JSON line, { url, adapter, transport }, and serves until the runner leaves
// (see bench/lib/server-child.mjs). Logging is off, as in the other benchmarks.
//
//   node bench/tls-server.mjs --adapter express|fastify --transport plain|tls|mtls \
//     [--cert-file server.crt --key-file server.key [--ca-file ca.crt]] [--max-seconds 3600]
//
// Uses the built packages (npm run build), as a consumer would.
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { Controller, Get, Req } from '@nestjs/common';
import { createHttpsOptions, CurrentPeer, Public } from '@secure-api/nestjs';
import { fail, setProgramName, warn } from './lib/cli.mjs';
import {
  adapterOption,
  announceReady,
  declareParameters,
  decorateClass,
  decorateMethod,
  positiveSeconds,
  serveBenchApp,
} from './lib/server-child.mjs';

setProgramName('bench/tls-server');

const TRANSPORTS = ['plain', 'tls', 'mtls'];

function readArguments() {
  const { values } = parseArgs({
    options: {
      adapter: { type: 'string' },
      transport: { type: 'string' },
      'cert-file': { type: 'string' },
      'key-file': { type: 'string' },
      'ca-file': { type: 'string' },
      'max-seconds': { type: 'string', default: '3600' },
    },
    strict: true,
  });
  if (!TRANSPORTS.includes(values.transport)) {
    fail(`--transport must be ${TRANSPORTS.join(', ')} (got ${JSON.stringify(values.transport)})`);
  }
  const needed =
    values.transport === 'plain'
      ? []
      : ['cert-file', 'key-file', ...(values.transport === 'mtls' ? ['ca-file'] : [])];
  for (const name of needed) {
    if (!values[name]) fail(`--transport ${values.transport} needs --${name}`);
  }
  return {
    adapter: adapterOption(values.adapter),
    transport: values.transport,
    certFile: values['cert-file'],
    keyFile: values['key-file'],
    caFile: values['ca-file'],
    maxSeconds: positiveSeconds(values['max-seconds'], 'max-seconds'),
  };
}

/** The module's `tls` option and createHttpsOptions()'s argument; undefined over plain HTTP. */
function tlsFiles({ transport, certFile, keyFile, caFile }) {
  if (transport === 'plain') return undefined;
  return transport === 'mtls'
    ? { certFile, keyFile, caFile, clientCertificate: 'require' }
    : { certFile, keyFile, clientCertificate: 'none' };
}

class TlsBenchController {
  hello() {
    return { ok: true };
  }

  peer(request, peer) {
    const socket = request.raw?.socket ?? request.socket;
    return { tls: socket?.encrypted === true, spiffeId: peer?.spiffeId ?? null };
  }
}

// @Get('hello') @Public() hello()
decorateMethod(TlsBenchController, 'hello', [Get('hello'), Public()]);
// @Get('peer') @Public() peer(@Req() request, @CurrentPeer() peer: PeerIdentity | undefined)
decorateMethod(TlsBenchController, 'peer', [Get('peer'), Public()]);
declareParameters(TlsBenchController, 'peer', [
  [Object, Req()],
  [Object, CurrentPeer()],
]);
const DecoratedController = decorateClass(TlsBenchController, [Controller()]);

async function main() {
  const options = readArguments();
  const tls = tlsFiles(options);
  const { booted } = await serveBenchApp({
    adapter: options.adapter,
    maxSeconds: options.maxSeconds,
    algorithms: ['ES256'],
    options: tls === undefined ? {} : { tls },
    controllers: [DecoratedController],
    nestOptions: tls === undefined ? {} : { httpsOptions: createHttpsOptions(tls) },
  });
  announceReady({ url: booted.url, adapter: options.adapter, transport: options.transport });
}

main().catch((error) => {
  warn(String(error?.stack ?? error));
  process.exit(1);
});
