/**
 * openapi.yaml loaded once, with an Ajv (JSON Schema 2020-12, the dialect of OpenAPI 3.1) that
 * validates values against its component schemas.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';

interface Operation {
  readonly operationId: string;
  readonly requestBody?: { content: Record<string, MediaType> };
  readonly responses: Record<string, { $ref?: string; content?: Record<string, MediaType> }>;
}

interface MediaType {
  readonly schema: Record<string, unknown>;
  readonly examples?: Record<string, { value: unknown }>;
}

interface OpenApiDocument {
  readonly openapi: string;
  readonly paths: Record<string, Record<string, Operation>>;
  readonly components: {
    readonly schemas: Record<string, unknown>;
    readonly responses: Record<string, { content?: Record<string, MediaType> }>;
  };
}

const DOCUMENT_ID = 'https://skewless.local/openapi.json';

const openapi = parse(
  readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')
) as OpenApiDocument;

const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema({ ...openapi, $id: DOCUMENT_ID });

/** Every `METHOD path` of the document with its operation. */
function operations(): { method: string; path: string; operation: Operation }[] {
  return Object.entries(openapi.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path,
      operation,
    }))
  );
}

/** JSON pointer of a location in the document, e.g. `['paths', '/a/b', 'get']`. */
function pointer(segments: readonly string[]): string {
  return segments.map((s) => `/${s.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/** Validate a value against the schema at `segments` in the document. */
function validateAt(segments: readonly string[], value: unknown): string[] {
  const check = ajv.getSchema(`${DOCUMENT_ID}#${pointer(segments)}`);
  if (check === undefined) throw new Error(`no schema at ${pointer(segments)}`);
  return check(value) ? [] : (check.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/** Validate a value against `#/components/schemas/<name>`. */
function validateComponent(name: string, value: unknown): string[] {
  const check = ajv.getSchema(`${DOCUMENT_ID}#/components/schemas/${name}`);
  if (check === undefined) throw new Error(`no schema ${name}`);
  return check(value) ? [] : (check.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/**
 * Validate an answer against what the document says `method path` answers with `status`;
 * undefined when the document does not describe that answer.
 */
function validateAnswer(
  method: string,
  path: string,
  status: number,
  body: unknown
): string[] | undefined {
  const operation = openapi.paths[path]?.[method.toLowerCase()];
  const response = operation?.responses[String(status)];
  if (response === undefined) return undefined;
  const location = response.$ref
    ? response.$ref.slice(2).split('/')
    : ['paths', path, method.toLowerCase(), 'responses', String(status)];
  return validateAt([...location, 'content', 'application/json', 'schema'], body);
}

export type { MediaType, OpenApiDocument, Operation };
export { openapi, operations, validateAnswer, validateAt, validateComponent };
