// The server of the logging benchmark, run as a child process of bench/logging.mjs: a Nest app
// with SecureApiModule and one route, GET /items/:id (@Public), answering {"ok":true,"id":…}.
//
//   --logging on    logging: { destination } with the destination the module makes of a file
//                   descriptor (createLogDestination: an asynchronous, batching sonic-boom,
//                   here on /dev/null) behind a line counter; the module's defaults otherwise: one masked completion line per
//                   request, the request context, the debug interceptor's level check
//
// GET /log-lines (@Public) answers {"lines":N}, the lines written so far (0 with logging off),
// so that the runner can check that every request is logged.
//   --logging context   as on, with requestLog: false: the request context (request id and
//                   principal bindings) without the completion line
//   --logging off   logging: false
//
// Log lines go to /dev/null, not stdout: stdout carries the readiness line, and a terminal or
// pipe reader would measure itself. It prints one JSON line, { url, adapter, logging }, and
// serves until the runner leaves (see bench/lib/server-child.mjs).
//
//   node bench/logging-server.mjs --adapter express|fastify --logging on|off [--max-seconds 3600]
//
// Uses the built packages (npm run build), as a consumer would.
import 'reflect-metadata';
import { closeSync, openSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Controller, Get, Param } from '@nestjs/common';
import { createLogDestination, Public } from '@secure-api/nestjs';
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

setProgramName('bench/logging-server');

function readArguments() {
  const { values } = parseArgs({
    options: {
      adapter: { type: 'string' },
      logging: { type: 'string' },
      'max-seconds': { type: 'string', default: '3600' },
    },
    strict: true,
  });
  if (!['on', 'off', 'context'].includes(values.logging)) {
    fail(`--logging must be on, off or context (got ${JSON.stringify(values.logging)})`);
  }
  return {
    adapter: adapterOption(values.adapter),
    logging: values.logging !== 'off',
    requestLog: values.logging === 'on',
    maxSeconds: positiveSeconds(values['max-seconds'], 'max-seconds'),
  };
}

let lines = 0;

class LoggingBenchController {
  item(id) {
    return { ok: true, id };
  }

  logLines() {
    return { lines };
  }
}

// @Get('items/:id') @Public() item(@Param('id') id: string)
decorateMethod(LoggingBenchController, 'item', [Get('items/:id'), Public()]);
declareParameters(LoggingBenchController, 'item', [[String, Param('id')]]);
decorateMethod(LoggingBenchController, 'logLines', [Get('log-lines'), Public()]);
const DecoratedController = decorateClass(LoggingBenchController, [Controller()]);

async function main() {
  const options = readArguments();
  const fd = options.logging ? openSync('/dev/null', 'w') : undefined;
  const sonic = fd === undefined ? undefined : createLogDestination(fd);
  const sink =
    sonic === undefined
      ? undefined
      : {
          write(line) {
            lines += 1;
            return sonic.write(line);
          },
        };
  const { booted } = await serveBenchApp({
    adapter: options.adapter,
    maxSeconds: options.maxSeconds,
    algorithms: ['RS256'],
    options: {
      logging: sink === undefined ? false : { destination: sink, requestLog: options.requestLog },
    },
    controllers: [DecoratedController],
    onClose: async () => {
      sonic?.flushSync();
      if (fd !== undefined) closeSync(fd);
    },
  });
  announceReady({ url: booted.url, adapter: options.adapter, logging: options.logging });
}

main().catch((error) => {
  warn(String(error?.stack ?? error));
  process.exit(1);
});
