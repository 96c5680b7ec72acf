import { SecureApiErrorCode } from '@secure-api/nestjs';
import {
  ADAPTERS,
  bootApp,
  type BootedApp,
  createLocalIssuer,
  createLogCapture,
  httpRequest,
  type HttpResponse,
  type LocalIssuer,
} from '@secure-api/testing';
import { ErrorsFixture, SECRET_IN_ERROR } from './fixtures/errors-app.fixture.js';
import { expectProblem } from './fixtures/problem.fixture.js';

function expectProblemOf(response: HttpResponse, status: number, code: string): void {
  expectProblem(response, status, code, { secrets: [SECRET_IN_ERROR] });
}

describe.each(ADAPTERS)('exception filter on %s', (adapter) => {
  const capture = createLogCapture();
  let issuer: LocalIssuer;
  let booted: BootedApp;

  beforeAll(async () => {
    issuer = await createLocalIssuer();
    booted = await bootApp(
      ErrorsFixture.with({ auth: { issuer: issuer.url, audience: issuer.audience } }),
      { adapter, logger: capture },
    );
  });

  afterAll(async () => {
    await booted?.close();
    await issuer?.close();
  });

  beforeEach(() => capture.clear());

  it('turns an unexpected error into a generic 500 and logs its details', async () => {
    const response = await httpRequest(`${booted.url}/fail/crash`);
    expectProblemOf(response, 500, SecureApiErrorCode.INTERNAL);
    const logged = capture.find('Unhandled error while serving a request');
    expect(logged).toHaveLength(1);
    expect(logged[0]?.level).toBe('error');
    expect(capture.text()).toContain(SECRET_IN_ERROR);
  });

  it("keeps an HttpException's status but not its message", async () => {
    const response = await httpRequest(`${booted.url}/fail/bad-request`);
    expectProblemOf(response, 400, SecureApiErrorCode.HTTP_ERROR);
    expect(response.json()).toMatchObject({ detail: 'The request is not valid.' });
  });

  it('keeps a 5xx HttpException status and logs it', async () => {
    const response = await httpRequest(`${booted.url}/fail/unavailable`);
    expectProblemOf(response, 503, SecureApiErrorCode.HTTP_ERROR);
    expect(capture.find('HTTP 503 raised while serving a request')).toHaveLength(1);
  });

  it('answers an unknown route with 404 problem+json without echoing the path', async () => {
    const response = await httpRequest(`${booted.url}/${SECRET_IN_ERROR}`);
    expectProblemOf(response, 404, SecureApiErrorCode.NOT_FOUND);
  });
});
