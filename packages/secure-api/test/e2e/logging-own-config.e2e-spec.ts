import { Controller, type DynamicModule, Get, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { Public, SecureApiModule, SecureApiRequestIdModule } from '@secure-api/nestjs';
import {
  ADAPTERS,
  type BootedApp,
  bootApp,
  createLocalIssuer,
  httpRequest,
  type LocalIssuer,
} from '@secure-api/testing';
import { LogLines } from './fixtures/logging-app.fixture.js';
import { UUID } from './fixtures/problem.fixture.js';

// An app that configures nestjs-pino itself, from the module's params, with logging: false in
// the module options. One root logger per process: this file's own capture.
const logs = new LogLines();

@Controller()
class OpenController {
  @Public()
  @Get('open')
  open(): { ok: true } {
    return { ok: true };
  }
}

@Module({})
class OwnLoggerApp {
  static with(issuer: LocalIssuer): DynamicModule {
    return {
      module: OwnLoggerApp,
      imports: [
        // The request id first, so that pino-http binds the module's id on both adapters.
        SecureApiRequestIdModule,
        LoggerModule.forRoot(SecureApiModule.loggerParams({ destination: logs })),
        SecureApiModule.forRoot({
          auth: { issuer: issuer.url, audience: issuer.audience, jwksUri: issuer.jwksUri },
          logging: false,
        }),
      ],
      controllers: [OpenController],
    };
  }
}

describe.each(ADAPTERS)('an app with its own LoggerModule on %s', (adapter) => {
  let issuer: LocalIssuer;
  let booted: BootedApp;

  beforeAll(async () => {
    issuer = await createLocalIssuer();
    booted = await bootApp(OwnLoggerApp.with(issuer), { adapter });
  });

  afterAll(async () => {
    await booted?.close();
    await issuer?.close();
  });

  it("writes the module's request line, with the id sent back to the client", async () => {
    const response = await httpRequest(`${booted.url}/open?token=CANARY-OWN-1f2e`);
    expect(response.status).toBe(200);
    const id = response.headers['x-request-id'] as string;
    expect(id).toMatch(UUID);
    expect(await logs.completionOf(id)).toMatchObject({
      requestId: id,
      status: 200,
      action: { handler: 'OpenController.open', method: 'GET', route: '/open' },
      ip: '127.0.0.1',
    });
    expect(logs.text()).not.toContain('CANARY-OWN');
  });

  it.each([
    ['logging: false here, logging on in the factory', false, {}],
    ['runtimeControl here, not in the factory', { runtimeControl: true }, false],
  ])(
    'fails the boot when forRootAsync and its factory disagree: %s',
    async (_name, given, made) => {
      const module: DynamicModule = {
        module: class MismatchedApp {},
        imports: [
          SecureApiModule.forRootAsync({
            logging: given as false | { runtimeControl: true },
            useFactory: () => ({
              auth: { issuer: issuer.url, audience: issuer.audience, jwksUri: issuer.jwksUri },
              logging: made as false | Record<string, never>,
            }),
          }),
        ],
      };
      await expect(bootApp(module, { adapter })).rejects.toMatchObject({
        code: 'ERR_SECURE_API_INVALID_OPTIONS',
        message: expect.stringContaining('the factory\'s "logging"') as unknown,
      });
    },
  );
});
