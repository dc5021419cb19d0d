// meshConfig.pathNormalization in a scenario: Istio's field names and values, BASE when left out,
// and a clear file:line: field: problem for anything else.
import t from 'tap';
import { BASE, load, problemsOf, withBase } from './fixtures/scenario-text';

t.test('left out, or empty: Istio’s default, BASE', async (t) => {
  t.same(load(BASE).meshConfig, { pathNormalization: { normalization: 'BASE' } });
  t.same(load(withBase('meshConfig:\n')).meshConfig.pathNormalization.normalization, 'BASE');
  t.same(load(withBase('meshConfig: { pathNormalization: {} }\n')).meshConfig.pathNormalization.normalization, 'BASE');
});

t.test('each of Istio’s values loads as written', async (t) => {
  for (const mode of ['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES', 'DEFAULT']) {
    const s = load(
      withBase(`
      meshConfig:
        pathNormalization:
          normalization: ${mode}
    `),
    );
    t.equal(s.meshConfig.pathNormalization.normalization, mode);
  }
});

t.test('a bad value, a bad type or an unknown field is reported at its line', async (t) => {
  t.same(
    problemsOf(
      withBase(`
    meshConfig:
      pathNormalization:
        normalization: STRICT
  `),
    ),
    [
      `t.yaml:12: meshConfig.pathNormalization.normalization: "STRICT" is not a path normalization: one of NONE, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES (Istio's MeshConfig.ProxyPathNormalization; DEFAULT is BASE)`,
    ],
  );
  t.same(
    problemsOf(
      withBase(`
    meshConfig:
      pathNormalization: { normalization: merge_slashes }
  `),
    ),
    [
      `t.yaml:11: meshConfig.pathNormalization.normalization: "merge_slashes" is not a path normalization: one of NONE, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES (Istio's MeshConfig.ProxyPathNormalization; DEFAULT is BASE); did you mean MERGE_SLASHES?`,
    ],
  );
  t.same(
    problemsOf(
      withBase(`
    meshConfig:
      pathNormalization: { normalization: 2 }
  `),
    ),
    ['t.yaml:11: meshConfig.pathNormalization.normalization: must be a string, not the number 2'],
  );
  t.same(
    problemsOf(
      withBase(`
    meshConfig:
      pathNormalisation: { normalization: NONE }
      accessLogEncoding: JSON
  `),
    ),
    [
      't.yaml:11: meshConfig.pathNormalisation: unknown field; did you mean pathNormalization?',
      't.yaml:12: meshConfig.accessLogEncoding: unknown field (known fields: pathNormalization)',
    ],
  );
  t.same(
    problemsOf(
      withBase(`
    meshConfig: BASE
  `),
    ),
    ['t.yaml:10: meshConfig: must be a mapping, not the string "BASE"'],
  );
  t.same(
    problemsOf(
      withBase(`
    meshConfig:
      pathNormalization: { normalization: NONE, mergeSlashes: true }
  `),
    ),
    ['t.yaml:11: meshConfig.pathNormalization.mergeSlashes: unknown field (known fields: normalization)'],
  );
});
