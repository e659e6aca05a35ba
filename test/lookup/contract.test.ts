/**
 * openapi.yaml, the handler's routing and template.yaml describe the same API: the same
 * operations, and examples (and real answers) that fit the documented schemas.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseTemplate } from '../../scripts/lib/cfnYaml.ts';
import { cards } from '../../shared/definitions.ts';
import { findRoute, matchResource, ROUTE_LIST } from '../../shared/lookup/routes.ts';
import { durationSeconds } from '../../shared/schema/defineFeatureGroup.ts';
import { openapi, operations, validateAt, validateComponent } from './openapi.ts';

const template = parseTemplate(
  readFileSync(new URL('../../template.yaml', import.meta.url), 'utf8')
);

const documented = operations()
  .map(({ method, path, operation }) => `${method} ${path} ${operation.operationId}`)
  .sort();

describe('openapi.yaml', () => {
  it('is OpenAPI 3.1 with exactly the three lookup operations', () => {
    expect(openapi.openapi).toBe('3.1.0');
    expect(documented).toEqual([
      'GET /feature-groups/{featureGroup}/records/{recordId} getRecord',
      'POST /feature-groups/batch-get batchGetRecords',
      'POST /feature-sets/{featureSet}/vectors getFeatureVectors',
    ]);
  });

  it("equals the handler's routing table", () => {
    // Prepare
    const routed = ROUTE_LIST.map((r) => `${r.method} ${r.resource} ${r.operationId}`).sort();
    // Assess
    expect(routed).toEqual(documented);
    for (const { method, path, operation } of operations()) {
      expect(findRoute(method, path)?.operationId).toBe(operation.operationId);
    }
  });

  it("equals the API events of template.yaml's LookupFunction", () => {
    // Prepare
    const fn = template.Resources.LookupFunction?.Properties as {
      Events: Record<
        string,
        { Type: string; Properties: { RestApiId: unknown; Path: string; Method: string } }
      >;
    };
    const events = Object.values(fn.Events).filter((e) => e.Type === 'Api');
    // Act
    const declared = events
      .map((e) => `${e.Properties.Method.toUpperCase()} ${e.Properties.Path}`)
      .sort();
    // Assess
    expect(declared).toEqual(documented.map((d) => d.split(' ').slice(0, 2).join(' ')));
    for (const event of events) expect(event.Properties.RestApiId).toEqual({ Ref: 'LookupApi' });
  });

  it('requires SigV4 (AWS_IAM) on every operation, as the template configures the API', () => {
    // Prepare
    const api = template.Resources.LookupApi?.Properties as { Auth: { DefaultAuthorizer: string } };
    // Assess
    expect(api.Auth.DefaultAuthorizer).toBe('AWS_IAM');
    expect((openapi as unknown as { security: unknown }).security).toEqual([{ sigv4: [] }]);
  });

  it('has request and response examples that validate against their schemas', () => {
    let checked = 0;
    for (const { path, method, operation } of operations()) {
      const base = ['paths', path, method.toLowerCase()];
      for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) {
        for (const example of Object.values(media.examples ?? {})) {
          expect(
            validateAt([...base, 'requestBody', 'content', type, 'schema'], example.value)
          ).toEqual([]);
          checked++;
        }
      }
      for (const [status, response] of Object.entries(operation.responses)) {
        const location = response.$ref
          ? response.$ref.slice(2).split('/')
          : [...base, 'responses', status];
        const resolved = response.$ref
          ? openapi.components.responses[location.at(-1) as string]
          : response;
        for (const [type, media] of Object.entries(resolved?.content ?? {})) {
          for (const example of Object.values(media.examples ?? {})) {
            expect(validateAt([...location, 'content', type, 'schema'], example.value)).toEqual([]);
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(10);
  });

  it("has a getRecord example whose expiresAt is its event time plus fraud-cards' TTL, as the store formats it", () => {
    // Prepare
    const responses = operations().find((o) => o.operation.operationId === 'getRecord')?.operation
      .responses['200'];
    const example = Object.values(responses?.content?.['application/json']?.examples ?? {})[0]
      ?.value as { featureGroup: string; eventTime: string; expiresAt: string };
    const ttl = cards.online?.ttl;
    // Act
    const expected = new Date(
      Date.parse(example.eventTime) + durationSeconds(ttl ?? { unit: 'Seconds', value: 0 }) * 1000
    ).toISOString();
    // Assess: ExpiresAt is yyyy-MM-ddTHH:mm:ss.SSSZ (local/store/README.md, choice 5)
    expect(example.featureGroup).toBe(cards.name);
    expect(example.expiresAt).toBe(expected);
  });

  it('rejects answers that drift from the documented shapes', () => {
    expect(
      validateComponent('Record', {
        featureGroup: 'g',
        recordId: 'r',
        eventTime: 't',
        features: {},
      })
    ).toEqual([]);
    expect(
      validateComponent('Record', { featureGroup: 'g', recordId: 'r', features: {} })
    ).not.toEqual([]);
    expect(
      validateComponent('Error', { statusCode: 500, error: 'Oops', message: 'm', requestId: 'r' })
    ).not.toEqual([]);
  });
});

describe('Function: matchResource() (how API Gateway and the local front route a raw path)', () => {
  it.each([
    ['/feature-groups/fraud-cards/records/card%2F0001', 'card/0001'],
    ['/feature-groups/fraud-cards/records/100%25', '100%'],
    ['/feature-groups/fraud-cards/records/card%200002', 'card 0002'],
    ['/feature-groups/fraud-cards/records/a+b', 'a+b'],
    ['/feature-groups/fraud-cards/records/%E6%97%A5%E6%9C%AC', '日本'],
    ['/feature-groups/fraud-cards/records/%252F', '%2F'],
  ])('decodes %s once into recordId %j', (path, recordId) => {
    expect(matchResource('GET', path)).toEqual({
      route: expect.objectContaining({ operationId: 'getRecord' }),
      pathParameters: { featureGroup: 'fraud-cards', recordId },
    });
  });

  it('gives null path parameters for a route without parameters, as API Gateway does', () => {
    expect(matchResource('POST', '/feature-groups/batch-get')?.pathParameters).toBeNull();
  });

  it.each([
    ['GET', '/feature-groups/fraud-cards/records/a/b'],
    ['GET', '/feature-groups/fraud-cards/records/'],
    ['POST', '/feature-groups/fraud-cards/records/a'],
    ['GET', '/feature-groups/batch-get'],
  ])('matches nothing for %s %s', (method, path) => {
    expect(matchResource(method, path)).toBeUndefined();
  });

  it('throws for a parameter that is not valid percent-encoding', () => {
    expect(() => matchResource('GET', '/feature-groups/g/records/%E0%A4%A')).toThrow(
      'Path segment "%E0%A4%A" is not valid percent-encoding'
    );
  });
});
