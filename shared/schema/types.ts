/**
 * The closed vocabulary of the schema module. Names follow SageMaker Feature Store on the wire
 * (`FeatureType`, `CollectionType`, `TtlDuration`) so a definition reads like the service's own API.
 */

/** Scalar feature types of SageMaker Feature Store. Every value travels as a string on the wire. */
const FeatureType = {
  String: 'String',
  Integral: 'Integral',
  Fractional: 'Fractional',
} as const;
type FeatureType = (typeof FeatureType)[keyof typeof FeatureType];

/** Collection types; the service allows them only on `InMemory` online stores. */
const CollectionType = {
  List: 'List',
  Set: 'Set',
  Vector: 'Vector',
} as const;
type CollectionType = (typeof CollectionType)[keyof typeof CollectionType];

const TargetStore = {
  OnlineStore: 'OnlineStore',
  OfflineStore: 'OfflineStore',
} as const;
type TargetStore = (typeof TargetStore)[keyof typeof TargetStore];

const TtlUnit = {
  Seconds: 'Seconds',
  Minutes: 'Minutes',
  Hours: 'Hours',
  Days: 'Days',
  Weeks: 'Weeks',
} as const;
type TtlUnit = (typeof TtlUnit)[keyof typeof TtlUnit];

/** A duration in the service's own shape (`TtlDuration`); also used for max ages. */
interface Duration {
  readonly unit: TtlUnit;
  readonly value: number;
}

const OnlineStorageType = {
  Standard: 'Standard',
  InMemory: 'InMemory',
} as const;
type OnlineStorageType = (typeof OnlineStorageType)[keyof typeof OnlineStorageType];

const OfflineTableFormat = {
  Glue: 'Glue',
  Iceberg: 'Iceberg',
} as const;
type OfflineTableFormat = (typeof OfflineTableFormat)[keyof typeof OfflineTableFormat];

/** One feature: its type, optional collection shape and a description for humans and the catalog. */
interface FeatureSpec<
  T extends FeatureType = FeatureType,
  C extends CollectionType | undefined = CollectionType | undefined,
> {
  readonly type: T;
  readonly collection: C;
  /** Vector dimension (Vector only). */
  readonly dimension?: number;
  readonly description: string;
}

type Features = Readonly<Record<string, FeatureSpec>>;

/** The TypeScript type of a decoded scalar. Integral is int64, so it decodes to `bigint`. */
type ScalarValue<T extends FeatureType> = T extends 'Integral'
  ? bigint
  : T extends 'Fractional'
    ? number
    : string;

/** What `encodeRecord` accepts for a scalar: digit strings keep int64 exact, text is parsed. */
type ScalarInput<T extends FeatureType> = T extends 'Integral'
  ? bigint | number | string
  : T extends 'Fractional'
    ? number | string
    : string;

type ValueOf<S extends FeatureSpec> = S['collection'] extends CollectionType
  ? ScalarValue<S['type']>[]
  : ScalarValue<S['type']>;

type InputOf<S extends FeatureSpec> = S['collection'] extends CollectionType
  ? ScalarInput<S['type']>[]
  : ScalarInput<S['type']>;

export type { Duration, FeatureSpec, Features, InputOf, ScalarInput, ScalarValue, ValueOf };
export { CollectionType, FeatureType, OfflineTableFormat, OnlineStorageType, TargetStore, TtlUnit };
