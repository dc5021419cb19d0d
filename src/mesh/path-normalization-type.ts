// meshConfig.pathNormalization.normalization: the modes a scenario may ask for, by Istio's names.
// What each mode does to a request path is the waypoint's connection manager's business
// (waypoint/path-normalization.ts); the mesh only reads and keeps the choice.
/** Istio's MeshConfig.ProxyPathNormalization.NormalizationType values. */
export const PATH_NORMALIZATION = {
  /** Apply the default: currently BASE. */
  DEFAULT: 'DEFAULT',
  /** Paths are used as received (only a fragment is stripped). */
  NONE: 'NONE',
  /** RFC 3986 normalization: Envoy's normalize_path. */
  BASE: 'BASE',
  /** BASE, then consecutive slashes merged. */
  MERGE_SLASHES: 'MERGE_SLASHES',
  /** %2F %2f %5C %5c decoded first, then MERGE_SLASHES. */
  DECODE_AND_MERGE_SLASHES: 'DECODE_AND_MERGE_SLASHES',
} as const;
export type PathNormalizationType = (typeof PATH_NORMALIZATION)[keyof typeof PATH_NORMALIZATION];
export const PATH_NORMALIZATION_TYPES: readonly PathNormalizationType[] = Object.values(PATH_NORMALIZATION);
/** What a mesh without meshConfig.pathNormalization gets. */
export const DEFAULT_PATH_NORMALIZATION: PathNormalizationType = PATH_NORMALIZATION.BASE;
