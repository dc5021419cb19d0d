// meshConfig: the mesh-wide settings of Istio's MeshConfig a scenario may set, under Istio's own
// field names (what `istioctl install --set meshConfig.…` or the istio ConfigMap would hold):
//   meshConfig:
//     pathNormalization: { normalization: BASE }   # NONE, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES
// Anything left out takes Istio's default.
import type { MeshConfig } from './model';
import { DEFAULT_PATH_NORMALIZATION, PATH_NORMALIZATION, PATH_NORMALIZATION_TYPES, PathNormalizationType } from './path-normalization-type';
import { Field } from './yaml-fields';

export const MESH_CONFIG_FIELDS = ['pathNormalization'] as const;
export const PATH_NORMALIZATION_FIELDS = ['normalization'] as const;

export const DEFAULT_MESH_CONFIG: MeshConfig = { pathNormalization: { normalization: DEFAULT_PATH_NORMALIZATION } };

/** The mesh config as written, defaults filled in; undefined when something in it is wrong. */
export function readMeshConfig(field: Field | undefined): MeshConfig | undefined {
  // Absent, or `meshConfig:` with nothing under it: Istio's defaults.
  if (!field || field.describe() === 'empty') return DEFAULT_MESH_CONFIG;
  const fields = field.map(MESH_CONFIG_FIELDS);
  if (!fields) return undefined;
  const pn = fields.optional('pathNormalization');
  if (!pn || pn.describe() === 'empty') return DEFAULT_MESH_CONFIG;
  const pnFields = pn.map(PATH_NORMALIZATION_FIELDS);
  if (!pnFields) return undefined;
  const n = pnFields.optional('normalization');
  // An empty ProxyPathNormalization is DEFAULT, which Istio applies as BASE.
  if (!n) return DEFAULT_MESH_CONFIG;
  const normalization = readNormalization(n);
  return normalization === undefined || fields.hadUnknownKeys || pnFields.hadUnknownKeys ? undefined : { pathNormalization: { normalization } };
}

function readNormalization(field: Field): PathNormalizationType | undefined {
  const s = field.nonEmptyString();
  if (s === undefined) return undefined;
  if ((PATH_NORMALIZATION_TYPES as readonly string[]).includes(s)) return s as PathNormalizationType;
  const named = Object.values(PATH_NORMALIZATION).filter((v) => v !== PATH_NORMALIZATION.DEFAULT);
  // Istio's enum names are upper case; say so when that is the only thing wrong.
  const upper = s.toUpperCase().replace(/-/g, '_');
  const hint = (PATH_NORMALIZATION_TYPES as readonly string[]).includes(upper) ? `; did you mean ${upper}?` : '';
  return field.problem(
    `${JSON.stringify(s)} is not a path normalization: one of ${named.join(', ')} (Istio's MeshConfig.ProxyPathNormalization; DEFAULT is BASE)${hint}`,
  );
}
