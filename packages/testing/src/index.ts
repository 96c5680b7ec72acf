export {
  ADAPTERS,
  bootApp,
  type AdapterName,
  type BootOptions,
  type BootedApp,
} from './boot-app.js';
export { fakeDateOnly } from './fake-date.js';
export { httpRequest, type HttpRequestOptions, type HttpResponse } from './http-request.js';
export { SIGNING_ALGORITHMS, type SigningAlgorithm } from './jwt-signing.js';
export {
  createLocalIssuer,
  type IssuerClient,
  type IssuerKey,
  type JwksBehaviour,
  type LocalIssuer,
  type LocalIssuerOptions,
  type MintOptions,
  type TokenRequestRecord,
} from './local-issuer.js';
export { createLogCapture, type CapturedLog, type LogCapture } from './log-capture.js';
export {
  keySlot,
  startRedisCluster,
  type RedisCluster,
  type RedisClusterOptions,
} from './redis-cluster.js';
export { startRedisServer, type RedisServer, type RedisServerOptions } from './redis-server.js';
export {
  createTestPki,
  type CrlOptions,
  type ExtendedKeyUsageName,
  type IssueOptions,
  type KeyAlgorithm,
  type TestCertificate,
  type TestPki,
  type TestPkiCa,
  type TestPkiFiles,
  type TestPkiOptions,
} from './test-pki.js';
