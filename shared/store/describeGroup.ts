/**
 * DescribeFeatureGroup through the SageMaker control plane (endpoint from the SDK's own
 * configuration, e.g. `AWS_ENDPOINT_URL_SAGEMAKER` for the embedded store), for the functions
 * that need a group's offline configuration (backfill's target, audit's Glue table).
 *
 * The imports are static and named on purpose: esbuild tree-shakes `@aws-sdk/client-sagemaker`
 * down to this one command (~12 KB over the clients a bundle already has). Loading it with a
 * dynamic `import()` instead bundles the whole client (+460 KB, measured with `npm run build`):
 * esbuild wraps a dynamically imported module without tree-shaking it when it does not split.
 */
import {
  DescribeFeatureGroupCommand,
  type DescribeFeatureGroupCommandOutput,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { baseClientConfig } from '../runtime/clients.ts';

/**
 * @param region - the group's region when it is not the environment's (the Athena engine passes
 *   its own client's: `skewless dataset --engine athena --region …` reads tables of that region)
 *
 * @example
 * ```typescript
 * const described = await describeFeatureGroup('fraud-cards');
 * console.log(described.OfflineStoreConfig?.DataCatalogConfig?.TableName);
 * ```
 */
async function describeFeatureGroup(
  name: string,
  region?: string
): Promise<DescribeFeatureGroupCommandOutput> {
  const client = new SageMakerClient({
    ...baseClientConfig(),
    ...(region === undefined ? {} : { region }),
  });
  try {
    return await client.send(new DescribeFeatureGroupCommand({ FeatureGroupName: name }));
  } finally {
    client.destroy();
  }
}

export { describeFeatureGroup };
