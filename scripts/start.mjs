// `npm start`: runs the sample thumbnail service on loopback.
//
// With AUTH_ISSUER unset there is no identity provider to trust, so a development issuer from
// @secure-api/testing is started on a free loopback port (keys in memory, gone at exit) and a
// sample token is printed, so that the secured route can be tried at once. It never listens
// beyond 127.0.0.1, and it is not used when AUTH_ISSUER is set.
import { createLocalIssuer } from '@secure-api/testing';

const audience = process.env.AUTH_AUDIENCE ?? 'https://thumbnails.local';
let issuer;
if (process.env.AUTH_ISSUER === undefined) {
  issuer = await createLocalIssuer({ audience, algorithms: ['RS256'] });
  process.env.AUTH_ISSUER = issuer.url;
  process.env.AUTH_AUDIENCE = audience;
  const token = issuer.mint({ scope: 'thumbnails.read', expiresInSeconds: 3600 });
  const port = process.env.PORT ?? '3000';
  console.log(`dev issuer: ${issuer.url} (development only; set AUTH_ISSUER to use a real one)`);
  console.log('try:');
  console.log(`  curl -i http://127.0.0.1:${port}/health/ready`);
  console.log(`  curl -i -H "Authorization: Bearer ${token}" http://127.0.0.1:${port}/thumbnails`);
  const stop = () => void issuer.close();
  process.once('beforeExit', stop);
}

await import('../apps/thumbnail-service/dist/main.js');
