import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** One statement of an IAM identity policy, as far as the sample's documents use it. */
export interface IamPolicyStatement {
  /** Statement id. */
  Sid?: string;
  /** `Allow` or `Deny`. */
  Effect: 'Allow' | 'Deny';
  /** Action or actions, e.g. `s3:GetObject`. */
  Action: string | string[];
  /** Resource ARN or ARNs. */
  Resource: string | string[];
  /** Condition block, passed to the simulator as is. */
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** An IAM identity policy document. */
export interface IamPolicyDocument {
  /** Policy language version. */
  Version: '2012-10-17';
  /** The statements. */
  Statement: IamPolicyStatement[];
}

/** The three principals of the sample and the policy each one runs under. */
export interface SampleIamPolicies {
  /** `deploy/iam/thumbnail-service.policy.json` */
  thumbnailService: IamPolicyDocument;
  /** `deploy/iam/uploader.policy.json` */
  uploader: IamPolicyDocument;
  /** `deploy/iam/viewer.policy.json` */
  viewer: IamPolicyDocument;
}

const FILES: Record<keyof SampleIamPolicies, string> = {
  thumbnailService: 'thumbnail-service.policy.json',
  uploader: 'uploader.policy.json',
  viewer: 'viewer.policy.json',
};

/**
 * Finds `deploy/iam/` by walking up from `start`, so it works from the repository root, from a
 * workspace folder and from `dist/`.
 *
 * @param start directory to start from
 * @default start process.cwd()
 * @returns absolute path of the `deploy/iam` directory
 */
export function findIamPolicyDirectory(start: string = process.cwd()): string {
  let directory = path.resolve(start);
  for (;;) {
    const candidate = path.join(directory, 'deploy', 'iam');
    if (existsSync(path.join(candidate, FILES.thumbnailService))) return candidate;
    const parent = path.dirname(directory);
    if (parent === directory) {
      throw new Error(
        `no deploy/iam/${FILES.thumbnailService} found above "${start}". Potential solutions: ` +
          'run from inside the repository, or pass the policy documents explicitly.',
      );
    }
    directory = parent;
  }
}

function isPolicyDocument(value: unknown): value is IamPolicyDocument {
  if (typeof value !== 'object' || value === null) return false;
  const { Version, Statement } = value as { Version?: unknown; Statement?: unknown };
  return Version === '2012-10-17' && Array.isArray(Statement);
}

/**
 * Reads the sample's three policy documents.
 *
 * @param directory the `deploy/iam` directory
 * @default directory findIamPolicyDirectory()
 */
export function loadSampleIamPolicies(
  directory: string = findIamPolicyDirectory(),
): SampleIamPolicies {
  const load = (file: string): IamPolicyDocument => {
    const fullPath = path.join(directory, file);
    const parsed: unknown = JSON.parse(readFileSync(fullPath, 'utf8'));
    if (!isPolicyDocument(parsed)) {
      throw new Error(
        `"${fullPath}" is not an IAM policy document (Version 2012-10-17, Statement[])`,
      );
    }
    return parsed;
  };
  return {
    thumbnailService: load(FILES.thumbnailService),
    uploader: load(FILES.uploader),
    viewer: load(FILES.viewer),
  };
}
