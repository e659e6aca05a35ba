/**
 * Waits until a feature group is `Created`, as client code must on AWS (CreateFeatureGroup returns
 * while the group is still `Creating`). The SDK has no waiter for feature groups, so this is one
 * built the way the SDK builds its own: `createWaiter` of `@smithy/core` (exponential backoff with
 * jitter between `minDelay` and `maxDelay`, bounded by `maxWaitTime`) over DescribeFeatureGroup.
 */
import { DescribeFeatureGroupCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { checkExceptions, createWaiter, WaiterState } from '@smithy/core/client';

interface WaitOptions {
  /** Give up after this many seconds (default 600: AWS creates a group in a few minutes). */
  readonly maxWaitTime?: number;
}

/** First pause between polls, seconds (the embedded store is quick). */
const MIN_DELAY_SECONDS = 0.1;
/** Longest pause between polls, seconds. */
const MAX_DELAY_SECONDS = 10;

/**
 * Resolves once DescribeFeatureGroup reports `Created`.
 *
 * @example
 * ```typescript
 * await sagemaker.send(new CreateFeatureGroupCommand(input));
 * await waitUntilFeatureGroupCreated(sagemaker, input.FeatureGroupName);
 * ```
 *
 * @throws Error when the group ends `CreateFailed` (with the service's FailureReason) or the wait
 *   times out
 */
async function waitUntilFeatureGroupCreated(
  client: SageMakerClient,
  name: string,
  options: WaitOptions = {}
): Promise<void> {
  const result = await createWaiter(
    {
      client,
      maxWaitTime: options.maxWaitTime ?? 600,
      minDelay: MIN_DELAY_SECONDS,
      maxDelay: MAX_DELAY_SECONDS,
    },
    { FeatureGroupName: name },
    async (c: SageMakerClient, input: { FeatureGroupName: string }) => {
      const out = await c.send(new DescribeFeatureGroupCommand(input));
      switch (out.FeatureGroupStatus) {
        case 'Created':
          return { state: WaiterState.SUCCESS, reason: out.FeatureGroupStatus };
        case 'CreateFailed':
        case 'Deleting':
        case 'DeleteFailed':
          return {
            state: WaiterState.FAILURE,
            reason: `${out.FeatureGroupStatus}${out.FailureReason === undefined ? '' : `: ${out.FailureReason}`}`,
          };
        default:
          return { state: WaiterState.RETRY, reason: out.FeatureGroupStatus };
      }
    }
  );
  try {
    checkExceptions(result);
  } catch (error) {
    throw new Error(
      `feature group "${name}" did not become Created (${result.state}: ${String(result.reason ?? 'no answer')})`,
      { cause: error }
    );
  }
}

export type { WaitOptions };
export { waitUntilFeatureGroupCreated };
