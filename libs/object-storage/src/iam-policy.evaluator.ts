import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { IamPolicyDocument } from './iam-policy.document.js';

/** The account every development principal and bucket lives in. */
export const DEV_ACCOUNT_ID = '123456789012';

/** One request to authorize: an IAM action on a resource ARN. */
export interface IamRequest {
  /** Concrete IAM action, e.g. `s3:GetObject` (the simulator refuses wildcards here). */
  action: string;
  /** Resource ARN, e.g. `arn:aws:s3:::temp-uploads/a.png`, or `*` for wildcard-only actions. */
  resource: string;
}

/** Outcome of an evaluation, as the simulator names it. */
export type IamDecision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

/**
 * Evaluates an identity policy for one request with `@cloud-copilot/iam-simulate`. Identity
 * policy only: no SCPs, RCPs or bucket policies exist in the sample. Invalid input (an unknown
 * action, an ARN of the wrong resource type, an invalid document) throws: it is a bug, not a
 * denial.
 *
 * @param policy the principal's identity policy
 * @param request action and resource
 * @param principal the principal's ARN
 * @default principal `arn:aws:iam::123456789012:user/dev`
 */
export async function evaluateIamPolicy(
  policy: IamPolicyDocument,
  request: IamRequest,
  principal = `arn:aws:iam::${DEV_ACCOUNT_ID}:user/dev`,
): Promise<IamDecision> {
  const result = await runSimulation(
    {
      identityPolicies: [{ name: 'identity', policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        principal,
        action: request.action,
        resource: { accountId: DEV_ACCOUNT_ID, resource: request.resource },
        contextVariables: {},
      },
    },
    {},
  );
  if (result.resultType === 'error') {
    throw new Error(
      `cannot simulate ${request.action} on ${request.resource}: ${result.errors.message}`,
    );
  }
  return result.overallResult;
}
