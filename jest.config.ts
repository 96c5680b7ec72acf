import path from 'node:path';
import type { Config } from 'jest';

// One Jest project per workspace and kind of test. Sources are TypeScript compiled by SWC to
// CommonJS; NestJS 12 itself is ESM-only and is loaded through Jest's require(esm) support,
// which needs Node >= 24.9 and --experimental-vm-modules (see the root "jest" script).
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2023',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
] as const;

const moduleNameMapper = {
  '^@secure-api/nestjs$': '<rootDir>/../../packages/secure-api/src/index.ts',
  '^@secure-api/testing$': '<rootDir>/../../packages/testing/src/index.ts',
  '^@secure-api-sample/object-storage$': '<rootDir>/../../libs/object-storage/src/index.ts',
  '^@secure-api-sample/dev-issuer$': '<rootDir>/../../libs/dev-issuer/src/index.ts',
  '^(\\.{1,2}/.*)\\.js$': '$1',
};

function project(root: string, kind: 'unit' | 'e2e'): Config {
  return {
    displayName: `${root.split('/').pop() ?? root}:${kind}`,
    rootDir: path.join(import.meta.dirname, root),
    testEnvironment: 'node',
    transform: { '^.+\\.ts$': swc as unknown as [string, Record<string, unknown>] },
    moduleNameMapper,
    testMatch:
      kind === 'unit' ? ['<rootDir>/src/**/*.spec.ts'] : ['<rootDir>/test/**/*.e2e-spec.ts'],
    restoreMocks: true,
  };
}

const config: Config = {
  projects: [
    project('packages/secure-api', 'unit'),
    project('packages/secure-api', 'e2e'),
    project('packages/testing', 'unit'),
    project('libs/object-storage', 'unit'),
    project('libs/object-storage', 'e2e'),
    project('libs/dev-issuer', 'unit'),
    project('libs/dev-issuer', 'e2e'),
    project('apps/thumbnail-service', 'unit'),
    project('apps/thumbnail-service', 'e2e'),
  ],
  testTimeout: 20_000,
  reporters: ['default', path.join(import.meta.dirname, 'scripts/jest-summary-reporter.mjs')],
};

export default config;
