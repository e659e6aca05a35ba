import { readFileSync } from 'node:fs';
import { type CollectionTag, parse, type ScalarTag } from 'yaml';

/**
 * CloudFormation's short-form intrinsics (`!Ref`, `!Sub`, `!GetAtt` ...) as YAML tags that parse
 * into their long form, so a template can be compared with plain objects.
 */
const FUNCTIONS = [
  'And',
  'Base64',
  'Cidr',
  'Equals',
  'FindInMap',
  'GetAZs',
  'If',
  'ImportValue',
  'Join',
  'Not',
  'Or',
  'Select',
  'Split',
  'Sub',
  'Transform',
  'ToJsonString',
  'Length',
] as const;

function longName(fn: string): string {
  return `Fn::${fn}`;
}

const customTags: (ScalarTag | CollectionTag)[] = [
  { tag: '!Ref', resolve: (value: string) => ({ Ref: value }) } as ScalarTag,
  { tag: '!Condition', resolve: (value: string) => ({ Condition: value }) } as ScalarTag,
  {
    tag: '!GetAtt',
    resolve: (value: string) => {
      const dot = value.indexOf('.');
      return { 'Fn::GetAtt': [value.slice(0, dot), value.slice(dot + 1)] };
    },
  } as ScalarTag,
  {
    tag: '!GetAtt',
    collection: 'seq',
    resolve: (seq: { toJSON(): unknown }) => ({ 'Fn::GetAtt': seq.toJSON() }),
  } as unknown as CollectionTag,
  ...FUNCTIONS.flatMap((fn) => [
    { tag: `!${fn}`, resolve: (value: string) => ({ [longName(fn)]: value }) } as ScalarTag,
    {
      tag: `!${fn}`,
      collection: 'seq',
      resolve: (seq: { toJSON(): unknown }) => ({ [longName(fn)]: seq.toJSON() }),
    } as unknown as CollectionTag,
    {
      tag: `!${fn}`,
      collection: 'map',
      resolve: (map: { toJSON(): unknown }) => ({ [longName(fn)]: map.toJSON() }),
    } as unknown as CollectionTag,
  ]),
];

interface Template {
  Resources: Record<
    string,
    {
      Type: string;
      Properties?: Record<string, unknown>;
      Metadata?: Record<string, unknown>;
      [k: string]: unknown;
    }
  >;
  Globals?: Record<string, unknown>;
  Parameters?: Record<string, unknown>;
  Outputs?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Parse CloudFormation/SAM YAML text into plain objects (short-form intrinsics expanded). */
function parseTemplate(text: string): Template {
  return parse(text, { customTags, maxAliasCount: -1 }) as Template;
}

function loadTemplate(path: string): Template {
  return parseTemplate(readFileSync(path, 'utf8'));
}

export type { Template };
export { loadTemplate, parseTemplate };
