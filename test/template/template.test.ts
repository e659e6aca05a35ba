import { readFileSync } from 'node:fs';
import AjvDraft04 from 'ajv-draft-04';
import { describe, expect, it, vi } from 'vitest';
import { loadTemplate, parseTemplate } from '../../scripts/lib/cfnYaml.ts';
import { functionBuilds } from '../../scripts/lib/esbuildOptions.ts';
import { replaceGeneratedBlock, templateDrift } from '../../scripts/lib/generatedResources.ts';
import { featureGroups, transactions } from '../../shared/definitions.ts';
import { readIngestConfig } from '../../shared/ingest/config.ts';
import { readMaxEventTimeSkewSeconds } from '../../shared/runtime/env.ts';
import { defineFeatureGroup } from '../../shared/schema/index.ts';

const templateText = readFileSync(new URL('../../template.yaml', import.meta.url), 'utf8');
const template = parseTemplate(templateText);
const resourcesOfType = (type: string) =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === type);

describe('template.yaml', () => {
  it('declares exactly the feature groups of the schema module (no drift)', () => {
    expect(templateDrift(template.Resources, featureGroups)).toEqual([]);
    expect(resourcesOfType('AWS::SageMaker::FeatureGroup')).toHaveLength(featureGroups.length);
  });

  it('reports drift when a feature type changes in the schema module only', () => {
    // Prepare: the same transactions group with `amount` turned from Fractional into Integral.
    const changed = defineFeatureGroup({
      name: transactions.name,
      description: transactions.description,
      recordIdentifier: transactions.recordIdentifier,
      eventTime: transactions.eventTime,
      features: {
        ...transactions.features,
        amount: { ...transactions.features.amount, type: 'Integral' },
      },
      online: transactions.online,
      offline: transactions.offline,
      maxAge: transactions.maxAge,
    });
    const groups = featureGroups.map((g) => (g.name === changed.name ? changed : g));
    // Act
    const drift = templateDrift(template.Resources, groups);
    // Assess
    expect(drift).toHaveLength(1);
    expect(drift[0]).toContain('FraudTransactionsFeatureGroup differs');
    expect(drift[0]).toContain(
      'FeatureDefinitions.4.FeatureType: expected "Integral", found "Fractional"'
    );
  });

  it('is byte-identical to what npm run gen:template writes', () => {
    expect(replaceGeneratedBlock(templateText, featureGroups)).toBe(templateText);
  });

  it('validates against the official SAM JSON schema', () => {
    const schemaPath = new URL('./schema/sam-schema.json', import.meta.url);
    const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
    const ajv = new AjvDraft04.default({ allErrors: true, strict: false });
    const validate = ajv.compile(schema);
    const ok = validate(template);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('gives every function an esbuild bundle whose entry point exists and exports handler', async () => {
    const builds = functionBuilds(template);
    expect(builds.map((b) => b.name).sort()).toEqual([
      'audit',
      'backfill',
      'batch',
      'ingest',
      'lookup',
    ]);
    for (const build of builds) {
      expect(build.handler).toBe('index.handler');
      const entry = (build.options.entryPoints as string[])[0] as string;
      expect(entry).toBe(`functions/${build.name}/index.ts`);
      const module = await import(`../../${entry}`);
      expect(typeof module.handler).toBe('function');
      // CommonJS (see template.yaml): `.cjs` is CommonJS whatever a package.json around it says.
      expect(build.options.outExtension).toEqual({ '.js': '.cjs' });
      expect(build.options.format).toBe('cjs');
      expect(build.bundleFile).toMatch(new RegExp(`/${build.name}/index\\.cjs$`));
    }
  });

  it('runs every function on nodejs24.x arm64', () => {
    const globals = template.Globals as { Function: { Runtime: string; Architectures: string[] } };
    expect(globals.Function.Runtime).toBe('nodejs24.x');
    expect(globals.Function.Architectures).toEqual(['arm64']);
  });

  it('never grants sagemaker, s3, kinesis or sqs actions on a wildcard resource', () => {
    const statements: { Action: unknown; Resource: unknown; Effect: string }[] = [];
    const collect = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(collect);
      else if (node !== null && typeof node === 'object') {
        const o = node as Record<string, unknown>;
        if ('Effect' in o && 'Action' in o && 'Resource' in o) statements.push(o as never);
        Object.values(o).forEach(collect);
      }
    };
    collect(template.Resources);
    expect(statements.length).toBeGreaterThan(10);
    const offending = statements.filter((s) => {
      if (s.Effect !== 'Allow') return false;
      const actions = [s.Action].flat().map(String);
      const resources = [s.Resource].flat();
      const sensitive = actions.some((a) => /^(sagemaker|s3|kinesis|sqs):/.test(a));
      return sensitive && resources.some((r) => r === '*');
    });
    expect(offending).toEqual([]);
  });

  it('lets the backfill write only Parquet data of offline tables, and target only non-internal groups', () => {
    const backfill = template.Resources.BackfillFunction?.Properties as {
      Policies: (
        | { Statement?: { Sid?: string; Action: unknown; Resource: unknown }[] }
        | unknown
      )[];
    };
    const statements = backfill.Policies.flatMap(
      (p) =>
        (p as { Statement?: { Sid?: string; Action: unknown; Resource: unknown }[] }).Statement ??
        []
    );
    const offline = statements.filter((s) =>
      JSON.stringify(s.Resource).includes('OfflineStoreBucket')
    );
    expect(offline).toEqual([
      {
        Sid: 'WriteOfflineStoreData',
        Effect: 'Allow',
        Action: 's3:PutObject',
        Resource: {
          'Fn::Sub':
            '${OfflineStoreBucket.Arn}/offline-store/${AWS::AccountId}/sagemaker/${AWS::Region}/offline-store/*/data/*',
        },
      },
    ]);
    expect(backfill.Policies).toContainEqual({ Ref: 'BackfillTargetPolicy' });
    expect(backfill.Policies).not.toContainEqual({ Ref: 'FeatureGroupWritePolicy' });
    const targets = JSON.stringify(template.Resources.BackfillTargetPolicy);
    expect(targets).toContain('sagemaker:BatchWriteRecord');
    expect(targets).toContain('FraudCardsFeatureGroup');
    expect(targets).not.toContain('FraudCardStateFeatureGroup');
  });

  it('keeps backfill/ offline-only and batch/ on its own function, filter and batch-fed groups', () => {
    type Fn = {
      Policies: unknown[];
      Events: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    const backfill = template.Resources.BackfillFunction?.Properties as Fn;
    const batch = template.Resources.BatchFunction?.Properties as Fn;
    const s3Prefixes = (fn: Fn) =>
      Object.values(fn.Events)
        .filter((e) => e.Type === 'S3')
        .map((e) => JSON.stringify(e.Properties.Filter));
    // One notification filter per prefix, each on its own function.
    expect(s3Prefixes(backfill)).toEqual([
      JSON.stringify({ S3Key: { Rules: [{ Name: 'prefix', Value: 'backfill/' }] } }),
    ]);
    expect(s3Prefixes(batch)).toEqual([
      JSON.stringify({ S3Key: { Rules: [{ Name: 'prefix', Value: 'batch/' }] } }),
    ]);
    // Only the batch function may write both stores, and only of the batch-fed groups.
    expect(batch.Policies).toContainEqual({ Ref: 'BatchFeedPolicy' });
    expect(backfill.Policies).not.toContainEqual({ Ref: 'BatchFeedPolicy' });
    for (const [name, resource] of Object.entries(template.Resources)) {
      if (name === 'BatchFunction' || resource.Type !== 'AWS::Serverless::Function') continue;
      expect(JSON.stringify(resource), name).not.toContain('BatchFeedPolicy');
    }
    const feed = JSON.stringify(template.Resources.BatchFeedPolicy);
    for (const action of ['BatchWriteRecord', 'PutRecord', 'BatchGetRecord', 'GetRecord']) {
      expect(feed).toContain(`"sagemaker:${action}"`);
    }
    expect(feed).toContain('FraudCardsFeatureGroup');
    expect(feed).toContain('FraudMerchantsFeatureGroup');
    expect(feed).not.toContain('FraudTransactionsFeatureGroup');
    expect(feed).not.toContain('FraudCardStateFeatureGroup');
    // The batch function reads batch/ drops only and keeps its own continuation queue.
    expect(JSON.stringify(batch.Policies)).toContain('/batch/*');
    expect(JSON.stringify(batch.Policies)).not.toContain('/backfill/*');
    expect(JSON.stringify(batch.Events.Continuation)).toContain('BatchContinuationQueue');
  });

  it('keeps the lookup API private (IAM auth) and CORS off by default', () => {
    const api = template.Resources.LookupApi?.Properties as { Auth: { DefaultAuthorizer: string } };
    expect(api.Auth.DefaultAuthorizer).toBe('AWS_IAM');
    expect(template.Parameters?.ApiCorsAllowOrigin).toMatchObject({ Default: '' });
  });

  it('gives each Number parameter a function reads the range its configuration accepts', () => {
    // A parameter stricter than the code (or the docs, which follow the code) refuses a value the
    // docs offer; a looser one deploys a stack whose functions fail at cold start.
    const readers: Record<string, () => unknown> = {
      INGEST_CONCURRENCY: () => readIngestConfig(),
      MAX_EVENT_TIME_SKEW_SECONDS: () => readMaxEventTimeSkewSeconds(),
    };
    const checked: string[] = [];
    for (const [, resource] of resourcesOfType('AWS::Serverless::Function')) {
      const environment = resource.Properties?.Environment as
        | { Variables?: Record<string, unknown> }
        | undefined;
      for (const [name, value] of Object.entries(environment?.Variables ?? {})) {
        const ref = (value as { Ref?: string } | null)?.Ref;
        const parameter = (ref === undefined ? undefined : template.Parameters?.[ref]) as
          | { Type?: string; MinValue: number; MaxValue: number; Default: number }
          | undefined;
        if (parameter?.Type !== 'Number') continue;
        const read = readers[name];
        expect(
          read,
          `${name} (parameter ${ref}) has no configuration reader in this test`
        ).toBeDefined();
        const accepts = (n: number) => {
          // The ingest configuration also needs a dead-letter destination.
          vi.stubEnv('DEAD_LETTER_DIR', 'unused');
          vi.stubEnv(name, String(n));
          try {
            (read as () => unknown)();
            return true;
          } catch {
            return false;
          } finally {
            vi.unstubAllEnvs();
          }
        };
        const { MinValue: min, MaxValue: max, Default: fallback } = parameter;
        expect(
          [min, max, fallback].every((n) => typeof n === 'number'),
          `${ref} MinValue/MaxValue/Default`
        ).toBe(true);
        expect(
          [accepts(min - 1), accepts(min), accepts(fallback), accepts(max), accepts(max + 1)],
          `${ref} [${min}, ${max}] against ${name}`
        ).toEqual([false, true, true, true, false]);
        checked.push(name);
      }
    }
    expect(new Set(checked)).toEqual(new Set(Object.keys(readers)));
  });

  it('parses short-form intrinsics the way CloudFormation reads them', () => {
    const parsed = loadTemplate(new URL('../../template.yaml', import.meta.url).pathname);
    expect(parsed.Resources.BackfillBucketPolicy?.Properties?.Bucket).toEqual({
      Ref: 'BackfillBucket',
    });
  });
});
