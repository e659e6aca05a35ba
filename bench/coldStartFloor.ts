/**
 * The floor of the cold-start benchmark (bench/coldStart.ts): the smallest function built from
 * the libraries every Skewless function uses — Powertools Logger and Metrics through Middy, one
 * SageMaker Feature Store runtime client with the environment's credentials and a keep-alive
 * handler — and nothing of Skewless. Bundled with the lookup function's options, its size and
 * import time tell how much of a function's cold start its own code adds.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import {
  GetRecordCommand,
  SageMakerFeatureStoreRuntimeClient,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { fromEnv } from '@aws-sdk/credential-provider-env';
import middy from '@middy/core';
import { NodeHttpHandler } from '@smithy/node-http-handler';

const logger = new Logger({ serviceName: 'floor' });
const metrics = new Metrics({ namespace: 'Floor', serviceName: 'floor' });
const client = new SageMakerFeatureStoreRuntimeClient({
  credentials: fromEnv(),
  requestHandler: new NodeHttpHandler({ httpsAgent: { keepAlive: true } }),
});

export const handler = middy(async (event: { group: string; id: string }) =>
  client.send(
    new GetRecordCommand({ FeatureGroupName: event.group, RecordIdentifierValueAsString: event.id })
  )
)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
