import { stringify } from 'yaml';
import { featureGroupLogicalId, featureGroupResource } from '../../shared/schema/awsDefinitions.ts';
import type { FeatureGroup } from '../../shared/schema/index.ts';

/**
 * The part of template.yaml derived from the schema module: one `AWS::SageMaker::FeatureGroup`
 * per group, and the managed policies that name exactly those groups (least privilege
 * without a second list of group names to keep in sync).
 */

const BEGIN_MARKER = '  # BEGIN GENERATED FEATURE GROUPS';
const END_MARKER = '  # END GENERATED FEATURE GROUPS';

function groupArn(group: FeatureGroup): { 'Fn::Sub': string } {
  return {
    'Fn::Sub': `arn:\${AWS::Partition}:sagemaker:\${AWS::Region}:\${AWS::AccountId}:feature-group/\${${featureGroupLogicalId(group)}}`,
  };
}

function managedPolicy(
  description: string,
  actions: string[],
  groups: readonly FeatureGroup[]
): Record<string, unknown> {
  return {
    Type: 'AWS::IAM::ManagedPolicy',
    Properties: {
      Description: description,
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: actions, Resource: groups.map(groupArn) }],
      },
    },
  };
}

function generatedResources(
  groups: readonly FeatureGroup[]
): Record<string, Record<string, unknown>> {
  const resources: Record<string, Record<string, unknown>> = {};
  for (const group of groups) {
    resources[featureGroupLogicalId(group)] = featureGroupResource(group, {
      kmsKey: { 'Fn::GetAtt': ['FeatureStoreKey', 'Arn'] },
      offlineS3Uri: { 'Fn::Sub': 's3://${OfflineStoreBucket}/offline-store' },
      offlineRoleArn: { 'Fn::GetAtt': ['FeatureStoreOfflineRole', 'Arn'] },
    });
  }
  resources.FeatureGroupWritePolicy = managedPolicy(
    'BatchWriteRecord and PutRecord on the feature groups of shared/definitions.ts',
    ['sagemaker:BatchWriteRecord', 'sagemaker:PutRecord'],
    groups
  );
  resources.FeatureGroupReadPolicy = managedPolicy(
    'GetRecord, BatchGetRecord and DescribeFeatureGroup on the feature groups of shared/definitions.ts',
    ['sagemaker:GetRecord', 'sagemaker:BatchGetRecord', 'sagemaker:DescribeFeatureGroup'],
    groups
  );
  // The backfill's targets: never an internal group (derived-feature state).
  resources.BackfillTargetPolicy = managedPolicy(
    'DescribeFeatureGroup (write mode, offline store location) and BatchWriteRecord (records mode, OfflineStore only) on the groups a backfill may target',
    ['sagemaker:DescribeFeatureGroup', 'sagemaker:BatchWriteRecord'],
    groups.filter((g) => !g.internal)
  );
  // Batch drops write the online store: only the groups declared batch-fed, never an internal one.
  const batchFed = groups.filter((g) => g.batch !== undefined && !g.internal);
  resources.BatchFeedPolicy =
    batchFed.length > 0
      ? managedPolicy(
          'BatchWriteRecord and PutRecord (both stores), BatchGetRecord and GetRecord (the online values a drop is compared with) on the batch-fed groups of shared/definitions.ts',
          [
            'sagemaker:BatchWriteRecord',
            'sagemaker:PutRecord',
            'sagemaker:BatchGetRecord',
            'sagemaker:GetRecord',
          ],
          batchFed
        )
      : {
          // No group is batch-fed: a valid policy that grants nothing.
          Type: 'AWS::IAM::ManagedPolicy',
          Properties: {
            Description: 'No feature group of shared/definitions.ts is batch-fed',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                { Effect: 'Deny', Action: ['sagemaker:BatchWriteRecord'], Resource: '*' },
              ],
            },
          },
        };
  resources.FeatureGroupScanPolicy = managedPolicy(
    'ListRecords on the feature groups of shared/definitions.ts (the audit finds online-only records)',
    ['sagemaker:ListRecords'],
    groups
  );
  return resources;
}

/** The YAML text between the markers, indented under `Resources:`. */
function generatedBlock(groups: readonly FeatureGroup[]): string {
  const yaml = stringify(generatedResources(groups), {
    lineWidth: 0,
    aliasDuplicateObjects: false,
  });
  return yaml
    .trimEnd()
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

/** Replace the generated block of a template's text; throws when the markers are missing. */
function replaceGeneratedBlock(templateText: string, groups: readonly FeatureGroup[]): string {
  const begin = templateText.indexOf(BEGIN_MARKER);
  const end = templateText.indexOf(END_MARKER);
  if (begin < 0 || end < begin)
    throw new Error(
      `template.yaml lacks the markers "${BEGIN_MARKER.trim()}" / "${END_MARKER.trim()}"`
    );
  const afterBeginLine = templateText.indexOf('\n', begin) + 1;
  return `${templateText.slice(0, afterBeginLine)}${generatedBlock(groups)}\n${templateText.slice(end)}`;
}

export { BEGIN_MARKER, END_MARKER, generatedBlock, generatedResources, replaceGeneratedBlock };

/**
 * Differences between the template's generated resources and what the schema module says.
 * Empty means no drift. Compares parsed values, so formatting does not matter, a type does.
 */
function templateDrift(
  resources: Record<string, unknown>,
  groups: readonly FeatureGroup[]
): string[] {
  const expected = generatedResources(groups);
  const problems: string[] = [];
  for (const [id, resource] of Object.entries(expected)) {
    const actual = resources[id];
    if (actual === undefined) problems.push(`${id} is missing from template.yaml`);
    else if (JSON.stringify(actual) !== JSON.stringify(resource)) {
      problems.push(
        `${id} differs from shared/definitions.ts: ${firstDifference(resource, actual)}`
      );
    }
  }
  for (const [id, resource] of Object.entries(resources)) {
    const type = (resource as { Type?: string }).Type;
    if (type === 'AWS::SageMaker::FeatureGroup' && !(id in expected)) {
      problems.push(`${id} is in template.yaml but not in shared/definitions.ts`);
    }
  }
  return problems;
}

function firstDifference(expected: unknown, actual: unknown, path = ''): string {
  if (
    typeof expected !== 'object' ||
    expected === null ||
    typeof actual !== 'object' ||
    actual === null
  ) {
    return `${path || '(root)'}: expected ${JSON.stringify(expected)}, found ${JSON.stringify(actual)}`;
  }
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  for (const key of keys) {
    const e = (expected as Record<string, unknown>)[key];
    const a = (actual as Record<string, unknown>)[key];
    if (JSON.stringify(e) !== JSON.stringify(a))
      return firstDifference(e, a, `${path}${path ? '.' : ''}${key}`);
  }
  return `${path}: key order differs`;
}

export { templateDrift };
