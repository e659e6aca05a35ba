import type { FeatureSpec } from './types.ts';

type ElementType = 'String' | 'Integral' | 'Fractional';

/**
 * Builders for feature specs, so a definition reads as data:
 *
 * @example
 * ```typescript
 * import { feature } from './shared/schema/feature.ts';
 * const amount = feature.fractional('Transaction amount in the card currency');
 * const tags = feature.list('String', 'Merchant category tags');
 * ```
 */
const feature = {
  string: (description: string): FeatureSpec<'String', undefined> => ({
    type: 'String',
    collection: undefined,
    description,
  }),
  integral: (description: string): FeatureSpec<'Integral', undefined> => ({
    type: 'Integral',
    collection: undefined,
    description,
  }),
  fractional: (description: string): FeatureSpec<'Fractional', undefined> => ({
    type: 'Fractional',
    collection: undefined,
    description,
  }),
  list: <T extends ElementType>(type: T, description: string): FeatureSpec<T, 'List'> => ({
    type,
    collection: 'List',
    description,
  }),
  set: <T extends ElementType>(type: T, description: string): FeatureSpec<T, 'Set'> => ({
    type,
    collection: 'Set',
    description,
  }),
  vector: (dimension: number, description: string): FeatureSpec<'Fractional', 'Vector'> => ({
    type: 'Fractional',
    collection: 'Vector',
    dimension,
    description,
  }),
};

export { feature };
