import {
  Controller,
  Get,
  Injectable,
  Module,
  type INestApplication,
  type OnModuleInit,
} from '@nestjs/common';
import { createTestPki } from './test-pki.js';
import { ADAPTERS, bootApp, type BootedApp } from './boot-app.js';
import { httpRequest } from './http-request.js';
import { createLogCapture } from './log-capture.js';

@Controller('hello')
class HelloController {
  @Get()
  hello(): { hello: string } {
    return { hello: 'world' };
  }
}

@Module({ controllers: [HelloController] })
class HelloModule {}

class InitFailure extends Error {}

@Injectable()
class FailingOnInit implements OnModuleInit {
  onModuleInit(): void {
    throw new InitFailure('database unreachable');
  }
}

@Module({ controllers: [HelloController], providers: [FailingOnInit] })
class FailingModule {}

@Injectable()
class NeedsMissing {
  constructor(readonly missing: HelloController) {}
}

@Module({ providers: [NeedsMissing] })
class UnresolvableModule {}

describe.each(ADAPTERS)('bootApp() on %s', (adapter) => {
  let booted: BootedApp | undefined;

  afterEach(async () => {
    await booted?.close();
    booted = undefined;
  });

  it('listens on 127.0.0.1 and serves the module', async () => {
    booted = await bootApp(HelloModule, { adapter });

    expect(booted.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await httpRequest(`${booted.url}/hello`);
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ hello: 'world' });
  });

  it('uses the adapter asked for', async () => {
    booted = await bootApp(HelloModule, { adapter });
    const platform = booted.app.getHttpAdapter().getType();
    expect(platform).toBe(adapter);
  });

  it('runs configure() before listening, with a dynamic module', async () => {
    booted = await bootApp(
      { module: HelloModule },
      { adapter, configure: (app) => void app.setGlobalPrefix('api') },
    );
    expect((await httpRequest(`${booted.url}/api/hello`)).status).toBe(200);
    expect((await httpRequest(`${booted.url}/hello`)).status).toBe(404);
  });

  it('passes a log capture to Nest', async () => {
    const logs = createLogCapture();
    booted = await bootApp(HelloModule, { adapter, logger: logs });
    expect(logs.find('Nest application successfully started')).toEqual([
      expect.objectContaining({ level: 'log', context: 'NestApplication' }),
    ]);
  });

  it('serves https with nestOptions.httpsOptions', async () => {
    const { ca, server } = await createTestPki();
    booted = await bootApp(HelloModule, {
      adapter,
      nestOptions: { httpsOptions: { cert: server.cert, key: server.key } },
    });
    expect(booted.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await httpRequest(`${booted.url}/hello`, { tls: { ca: ca.cert } });
    expect(res.json()).toEqual({ hello: 'world' });
  });

  it('rejects with the onModuleInit error and leaves nothing listening', async () => {
    let app: INestApplication | undefined;
    const boot = bootApp(FailingModule, {
      adapter,
      configure: (created) => {
        app = created;
      },
    });

    await expect(boot).rejects.toThrow(new InitFailure('database unreachable'));
    const server = app?.getHttpServer() as { listening: boolean } | undefined;
    expect(server?.listening).toBe(false);
  });

  it('rejects when a dependency cannot be resolved, without aborting the process', async () => {
    await expect(bootApp(UnresolvableModule, { adapter })).rejects.toThrow(
      /can't resolve dependencies of the NeedsMissing/,
    );
  });

  it('close() can be called twice', async () => {
    const app = await bootApp(HelloModule, { adapter });
    await app.close();
    await expect(app.close()).resolves.toBeUndefined();
    await expect(httpRequest(`${app.url}/hello`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

it('refuses an unknown adapter', async () => {
  await expect(bootApp(HelloModule, { adapter: 'koa' as 'express' })).rejects.toThrow(
    'bootApp: "adapter" must be one of express, fastify (got "koa")',
  );
});
