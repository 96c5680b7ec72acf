// The server of the validation benchmark, run as a child process of bench/validation.mjs. A Nest
// app with SecureApiModule (its global SecureValidationPipe included) and two routes that differ
// only in the declared type of their body:
//
//   POST /validated  @Public(), @Body() body: CreateItemDto  (a 10-member class-validator DTO,
//                    one member a nested SizeDto): the pipe validates and transforms it
//   POST /raw        @Public(), @Body() body: unknown  (design type Object, which the pipe
//                    passes through untouched)
//
// Both answer {"ok":true,"dto":<body is a CreateItemDto>,"plain":<body is a plain object>}, so
// that the runner can check which route the pipe validated.
//
// It prints one JSON line, { url, adapter }, and serves until stdin closes, a
// SIGTERM/SIGINT arrives, the IPC channel (when started by validation.mjs) closes or
// --max-seconds pass, whichever comes first.
//
//   node bench/validation-server.mjs --adapter express|fastify [--max-seconds 3600]
//
// Created with { bodyParser: false } (bootApp's default): SecureApiModule parses bodies itself,
// on both adapters, and refuses to boot on Express when Nest's parsers are registered.
//
// Uses the built packages (npm run build), as a consumer would.
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { Body, Controller, Post } from '@nestjs/common';
import { Public } from '@secure-api/nestjs';
import { setProgramName, warn } from './lib/cli.mjs';
import { CreateItemDto } from './lib/create-item-dto.mjs';
import {
  adapterOption,
  announceReady,
  declareParameters,
  decorateClass,
  decorateMethod,
  positiveSeconds,
  serveBenchApp,
} from './lib/server-child.mjs';

setProgramName('bench/validation-server');

function readArguments() {
  const { values } = parseArgs({
    options: {
      adapter: { type: 'string' },
      'max-seconds': { type: 'string', default: '3600' },
    },
    strict: true,
  });
  return {
    adapter: adapterOption(values.adapter),
    maxSeconds: positiveSeconds(values['max-seconds'], 'max-seconds'),
  };
}

// ---------------------------------------------------------------------------------------------
// The DTO, as TypeScript with emitDecoratorMetadata would declare it:
//
//   class SizeDto {
//     @IsInt() @Min(1) @Max(4096) width: number;
//     @IsInt() @Min(1) @Max(4096) height: number;
//     @IsEnum(Fit) fit: Fit;
//   }
//   class CreateItemDto {
//     @IsString() @Length(1, 64) name: string;
//     @IsString() @Length(0, 200) description: string;
//     @IsInt() @Min(1) @Max(1000) quantity: number;
//     @IsEnum(Priority) priority: Priority;
//     @IsBoolean() public: boolean;
//     @IsEmail() ownerEmail: string;
//     @IsUUID('4') requestId: string;
//     @IsArray() @ArrayMaxSize(10) @IsString({ each: true }) @Length(1, 32, { each: true })
//     tags: string[];
//     @ValidateNested() @Type(() => SizeDto) size: SizeDto;
//     @IsOptional() @IsString() @Length(0, 100) note?: string;
//   }

// Defined once, in bench/lib/create-item-dto.mjs, for this benchmark and bench:peers.

// ---------------------------------------------------------------------------------------------
// The routes: one handler body for both, so that only the pipe differs.

function answer(body) {
  return {
    ok: true,
    dto: body instanceof CreateItemDto,
    plain:
      typeof body === 'object' && body !== null && Object.getPrototypeOf(body) === Object.prototype,
  };
}

class ValidationBenchController {
  validated(body) {
    return answer(body);
  }

  raw(body) {
    return answer(body);
  }
}

// @Post('validated') @Public() validated(@Body() body: CreateItemDto)
decorateMethod(ValidationBenchController, 'validated', [Post('validated'), Public()]);
declareParameters(ValidationBenchController, 'validated', [[CreateItemDto, Body()]]);
// @Post('raw') @Public() raw(@Body() body: unknown): TypeScript emits Object for `unknown`.
decorateMethod(ValidationBenchController, 'raw', [Post('raw'), Public()]);
declareParameters(ValidationBenchController, 'raw', [[Object, Body()]]);
const DecoratedController = decorateClass(ValidationBenchController, [Controller()]);

async function main() {
  const options = readArguments();
  // Both routes are public, but the module needs an issuer to boot: a local one, on loopback.
  const { booted } = await serveBenchApp({
    adapter: options.adapter,
    maxSeconds: options.maxSeconds,
    algorithms: ['RS256'],
    controllers: [DecoratedController],
  });
  announceReady({ url: booted.url, adapter: options.adapter });
}

main().catch((error) => {
  warn(String(error?.stack ?? error));
  process.exit(1);
});
