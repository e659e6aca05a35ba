import {
  CreateFeatureGroupCommand,
  type CreateFeatureGroupCommandInput,
  DescribeFeatureGroupCommand,
  ResourceNotFound,
  type SageMakerClient,
  UpdateFeatureGroupCommand,
} from '@aws-sdk/client-sagemaker';
import { createFeatureGroupInput, featureDefinitions } from '../../shared/schema/awsDefinitions.ts';
import type { FeatureGroup } from '../../shared/schema/index.ts';
import { waitUntilFeatureGroupCreated } from './waitForFeatureGroup.ts';

interface EnsureResult {
  readonly created: string[];
  readonly updated: string[];
  readonly unchanged: string[];
}

/**
 * Create the schema module's feature groups through the SageMaker control plane, as
 * CloudFormation does on AWS; on a restart, add features that the definitions gained since
 * (UpdateFeatureGroup `FeatureAdditions`). A feature whose type changed cannot be migrated by the
 * service: that is reported as an error naming the feature, never silently ignored. Returns once
 * every group is `Created` (DescribeFeatureGroup polled with the SDK's waiter machinery).
 */
async function ensureFeatureGroups(
  client: SageMakerClient,
  groups: readonly FeatureGroup[],
  options: { offlineS3Uri: string; roleArn: string }
): Promise<EnsureResult> {
  const result: EnsureResult = { created: [], updated: [], unchanged: [] };
  for (const group of groups) {
    let existing: Awaited<ReturnType<typeof describe>> | undefined;
    try {
      existing = await describe(client, group.name);
    } catch (error) {
      if (!(error instanceof ResourceNotFound)) throw error;
    }
    if (existing === undefined) {
      await client.send(
        new CreateFeatureGroupCommand(
          createFeatureGroupInput(group, options) as unknown as CreateFeatureGroupCommandInput
        )
      );
      // A new group is Creating for a while (on AWS, and on the embedded store of npm start):
      // records written before it is Created are refused.
      await waitUntilFeatureGroupCreated(client, group.name);
      result.created.push(group.name);
      continue;
    }
    if (existing.FeatureGroupStatus === 'Creating') {
      // Created by an earlier run that did not wait (or by someone else): wait for it too.
      await waitUntilFeatureGroupCreated(client, group.name);
    }
    const existingTypes = new Map(
      (existing.FeatureDefinitions ?? []).map((d) => [d.FeatureName, d.FeatureType])
    );
    const wanted = featureDefinitions(group);
    const changed = wanted.filter(
      (d) => existingTypes.has(d.FeatureName) && existingTypes.get(d.FeatureName) !== d.FeatureType
    );
    if (changed.length > 0) {
      throw new Error(
        `feature group "${group.name}" exists with different types for ${changed
          .map((d) => `${d.FeatureName} (${existingTypes.get(d.FeatureName)} -> ${d.FeatureType})`)
          .join(
            ', '
          )}; the service cannot change a feature's type: use a new feature or a new group`
      );
    }
    const additions = wanted.filter((d) => !existingTypes.has(d.FeatureName));
    if (additions.length > 0) {
      await client.send(
        new UpdateFeatureGroupCommand({ FeatureGroupName: group.name, FeatureAdditions: additions })
      );
      result.updated.push(group.name);
    } else {
      result.unchanged.push(group.name);
    }
  }
  return result;
}

function describe(client: SageMakerClient, name: string) {
  return client.send(new DescribeFeatureGroupCommand({ FeatureGroupName: name }));
}

export type { EnsureResult };
export { ensureFeatureGroups };
