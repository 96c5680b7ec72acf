// The body every configuration of bench/peers.mjs validates on POST /items: a 10-member DTO for
// class-validator (ours and the Nest/Express peer) and the same rules as a JSON schema (the
// Nest/Fastify peer, validated by Fastify's own Ajv), and the one JSON body all of them are sent.
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsEmail,
  IsEnum,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { Type } from 'class-transformer';
import { decorateProperty } from './server-child.mjs';

// The DTO, as TypeScript with emitDecoratorMetadata would declare it (as in
// bench/validation-server.mjs):
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

const Fit = Object.freeze({ cover: 'cover', contain: 'contain', fill: 'fill' });
const Priority = Object.freeze({ low: 'low', normal: 'normal', high: 'high' });

export class SizeDto {}
const number = Reflect.metadata('design:type', Number);
const string = Reflect.metadata('design:type', String);
decorateProperty(SizeDto, 'width', [IsInt(), Min(1), Max(4096), number]);
decorateProperty(SizeDto, 'height', [IsInt(), Min(1), Max(4096), number]);
decorateProperty(SizeDto, 'fit', [IsEnum(Fit), string]);

export class CreateItemDto {}
decorateProperty(CreateItemDto, 'name', [IsString(), Length(1, 64), string]);
decorateProperty(CreateItemDto, 'description', [IsString(), Length(0, 200), string]);
decorateProperty(CreateItemDto, 'quantity', [IsInt(), Min(1), Max(1000), number]);
decorateProperty(CreateItemDto, 'priority', [IsEnum(Priority), string]);
decorateProperty(CreateItemDto, 'public', [IsBoolean(), Reflect.metadata('design:type', Boolean)]);
decorateProperty(CreateItemDto, 'ownerEmail', [IsEmail(), string]);
decorateProperty(CreateItemDto, 'requestId', [IsUUID('4'), string]);
decorateProperty(CreateItemDto, 'tags', [
  IsArray(),
  ArrayMaxSize(10),
  IsString({ each: true }),
  Length(1, 32, { each: true }),
  Reflect.metadata('design:type', Array),
]);
decorateProperty(CreateItemDto, 'size', [
  ValidateNested(),
  Type(() => SizeDto),
  Reflect.metadata('design:type', SizeDto),
]);
decorateProperty(CreateItemDto, 'note', [IsOptional(), IsString(), Length(0, 100), string]);

/**
 * The same rules for Fastify's Ajv (with the ajv-formats Fastify ships): unknown members are
 * refused (`additionalProperties: false`, as `forbidNonWhitelisted`), `note` optional.
 */
export const CREATE_ITEM_SCHEMA = Object.freeze({
  type: 'object',
  additionalProperties: false,
  required: [
    'name',
    'description',
    'quantity',
    'priority',
    'public',
    'ownerEmail',
    'requestId',
    'tags',
    'size',
  ],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 64 },
    description: { type: 'string', minLength: 0, maxLength: 200 },
    quantity: { type: 'integer', minimum: 1, maximum: 1000 },
    priority: { type: 'string', enum: Object.values(Priority) },
    public: { type: 'boolean' },
    ownerEmail: { type: 'string', format: 'email' },
    requestId: { type: 'string', format: 'uuid' },
    tags: {
      type: 'array',
      maxItems: 10,
      items: { type: 'string', minLength: 1, maxLength: 32 },
    },
    size: {
      type: 'object',
      additionalProperties: false,
      required: ['width', 'height', 'fit'],
      properties: {
        width: { type: 'integer', minimum: 1, maximum: 4096 },
        height: { type: 'integer', minimum: 1, maximum: 4096 },
        fit: { type: 'string', enum: Object.values(Fit) },
      },
    },
    note: { type: 'string', minLength: 0, maxLength: 100 },
  },
});

/** The body sent on every POST /items, to every configuration. */
export const CREATE_ITEM_BODY = JSON.stringify({
  name: 'Benchmark item',
  description: 'The same ten members for every configuration of the peers benchmark.',
  quantity: 12,
  priority: 'normal',
  public: true,
  ownerEmail: 'owner@example.test',
  requestId: '1b4e28ba-2fa1-4d2e-883f-0016d3cca427',
  tags: ['bench', 'peers', 'json'],
  size: { width: 640, height: 480, fit: 'cover' },
  note: 'optional member, present',
});

/** A body each validator must refuse (a bad e-mail and an unknown member): the preflight's. */
export const INVALID_ITEM_BODY = JSON.stringify({
  ...JSON.parse(CREATE_ITEM_BODY),
  ownerEmail: 'not-an-email',
  isAdmin: true,
});
