import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/**
 * A Lambda `Context` for a handler invoked in-process (the local runners, the in-process
 * continuation queue, tests and benches), with a real deadline so `getRemainingTimeInMillis()`
 * runs down as on AWS. The one factory of such contexts in the repository.
 *
 * @example
 * ```typescript
 * import { createLambdaContext } from './shared/runtime/lambdaContext.ts';
 * const context = createLambdaContext('BackfillFunction', 900_000, 1769);
 * context.getRemainingTimeInMillis(); // ≤ 900000, then less and less
 * ```
 * @param memoryLimitInMB - the function's `MemorySize` in template.yaml (default 1024, Globals)
 */
function createLambdaContext(
  functionName: string,
  timeoutMs: number,
  memoryLimitInMB = 1024
): Context {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const deadline = Date.now() + timeoutMs;
  const awsRequestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
    memoryLimitInMB: String(memoryLimitInMB),
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${awsRequestId}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export { createLambdaContext };
