// "did you mean …?": a typo, a swap or a prefix finds the known name; a far-off word finds none.
import t from 'tap';
import { closest, editDistance } from '../../src/cli/suggest';

const SCENARIO_FLAGS = ['hold', 'json', 'verbose', 'ca-dir', 'backoff-scale'];

t.test('edit distance counts a swap of neighbours as one edit', async (t) => {
  t.equal(editDistance('hold', 'hold'), 0);
  t.equal(editDistance('hodl', 'hold'), 1, 'swap');
  t.equal(editDistance('hld', 'hold'), 1, 'deletion');
  t.equal(editDistance('holds', 'hold'), 1, 'insertion');
  t.equal(editDistance('bold', 'hold'), 1, 'substitution');
  t.equal(editDistance('', 'abc'), 3);
  t.equal(editDistance('kitten', 'sitting'), 3);
});

t.test('close typos name the flag meant', async (t) => {
  t.equal(closest('hodl', SCENARIO_FLAGS), 'hold');
  t.equal(closest('hol', SCENARIO_FLAGS), 'hold');
  t.equal(closest('HOLD', SCENARIO_FLAGS), 'hold', 'case-insensitive');
  t.equal(closest('jsno', SCENARIO_FLAGS), 'json');
  t.equal(closest('ca_dir', SCENARIO_FLAGS), 'ca-dir');
  t.equal(closest('backof-scale', SCENARIO_FLAGS), 'backoff-scale');
  t.equal(closest('backoff-sacle', SCENARIO_FLAGS), 'backoff-scale');
  t.equal(closest('verb', SCENARIO_FLAGS), 'verbose', 'a prefix of three letters or more');
  t.equal(closest('scenaro', ['scenario', 'ztunnel', 'waypoint', 'app', 'cert']), 'scenario');
  t.equal(closest('ztunel', ['scenario', 'ztunnel', 'waypoint', 'app', 'cert']), 'ztunnel');
});

t.test('the nearest of several wins', async (t) => {
  t.equal(closest('pood', ['pod', 'pods-and-more']), 'pod');
});

t.test('a far-off word suggests nothing', async (t) => {
  t.equal(closest('foo', SCENARIO_FLAGS), undefined);
  t.equal(closest('node', ['scenario', 'pod', 'ca-dir']), undefined, 'node is two edits from pod: too far for a short word');
  t.equal(closest('x', SCENARIO_FLAGS), undefined);
  t.equal(closest('ve', SCENARIO_FLAGS), undefined, 'two letters are too few for a prefix');
  t.equal(closest('anything', []), undefined);
});
