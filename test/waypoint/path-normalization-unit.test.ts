// meshConfig.pathNormalization: each path under the four modes, with the result Envoy gives it.
// Expected values come from Envoy's own unit tests (test/common/http/path_utility_test.cc: envoy),
// Istio's integration test of these modes (tests/integration/security/normalization_test.go:
// istio), or, where neither lists the path, from running Envoy's algorithm by hand (derived; the
// comment says which rule decides).
import t from 'tap';
import {
  canonicalizePath,
  hcmPathOptions,
  mergeSlashes,
  normalizeRequestPath,
  normalizeRequestTarget,
  PATH_REJECTIONS,
  unescapeSlashes,
} from '../../src/waypoint/path-normalization';
import { PATH_NORMALIZATION, PathNormalizationType } from '../../src/mesh/path-normalization-type';

const { NONE, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES } = PATH_NORMALIZATION;
/** Envoy answers 400 path_normalization_failed. */
const REJECT = null;
type Expected = string | typeof REJECT;

// input, NONE, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES, where the expectation comes from
const TABLE: ReadonlyArray<readonly [string, Expected, Expected, Expected, Expected, string]> = [
  // The bypasses of a DENY /admin* this issue is about.
  ['/%61dmin', '/%61dmin', '/admin', '/admin', '/admin', 'derived: %61 is unreserved "a", decoded (istio decodes /admin%61 the same way)'],
  ['/x\\..\\admin', '/x\\..\\admin', '/admin', '/admin', '/admin', 'envoy: "/a/..\\\\c" is "/c": backslash is a slash'],
  ['//admin', '//admin', '//admin', '/admin', '/admin', 'derived: the canonicalizer never merges slashes; merge_slashes does'],
  ['/a/..//admin', '/a/..//admin', '//admin', '/admin', '/admin', 'derived: "../" climbs to "/", the next "/" stays'],
  ['/%2e%2e/admin', '/%2e%2e/admin', '/admin', '/admin', '/admin', 'envoy: %2e%2e is "..", either case'],
  ['/admin%2Fx', '/admin%2Fx', '/admin%2Fx', '/admin%2Fx', '/admin/x', 'istio: %2F is decoded only by DECODE_AND_MERGE_SLASHES'],
  ['/admin%5cx', '/admin%5cx', '/admin%5cx', '/admin%5cx', '/admin/x', 'istio: %5c becomes "\\", then a slash'],
  [
    '/x%2f..%2fadmin',
    '/x%2f..%2fadmin',
    '/x%2f..%2fadmin',
    '/x%2f..%2fadmin',
    '/admin',
    'derived: lower-case %2f unescaped before canonicalization, so ".." climbs',
  ],
  ['/./admin', '/./admin', '/admin', '/admin', '/admin', 'envoy: "/./a/b" is "/a/b"'],
  ['/app//../admin', '/app//../admin', '/app/admin', '/app/admin', '/app/admin', 'istio: ".." climbs one empty segment; merging comes after'],
  ['/app/\\/\\/\\admin', '/app/\\/\\/\\admin', '/app//////admin', '/app/admin', '/app/admin', 'istio'],
  // Trailing dots.
  ['/admin/.', '/admin/.', '/admin/', '/admin/', '/admin/', 'derived: a final "." is the current directory, its slash kept'],
  ['/admin/..', '/admin/..', '/', '/', '/', 'derived: a final ".." climbs'],
  ['/admin.', '/admin.', '/admin.', '/admin.', '/admin.', 'istio (/admin%2e): a dot inside a name is no segment'],
  ['/../../admin', '/../../admin', '/admin', '/admin', '/admin', 'envoy: ".." never climbs above the root'],
  // Queries are left as they are, whatever they hold.
  [
    '/admin/x/..?q=/../y',
    '/admin/x/..?q=/../y',
    '/admin/?q=/../y',
    '/admin/?q=/../y',
    '/admin/?q=/../y',
    'envoy: the query is cut off, the path canonicalized, the query put back',
  ],
  ['/a?b=%2F&c=..//d', '/a?b=%2F&c=..//d', '/a?b=%2F&c=..//d', '/a?b=%2F&c=..//d', '/a?b=%2F&c=..//d', 'envoy: slashes and escapes in the query are ignored'],
  // Encoded characters that must stay encoded; unreserved ones are decoded.
  ['/a%20b%3Fc', '/a%20b%3Fc', '/a%20b%3Fc', '/a%20b%3Fc', '/a%20b%3Fc', 'istio: only A-Z a-z 0-9 - . _ ~ are decoded'],
  ['/%7E%41%2d%5F', '/%7E%41%2d%5F', '/~A-_', '/~A-_', '/~A-_', 'istio: unreserved characters decoded, either hex case'],
  ['/%252e%252e/admin', '/%252e%252e/admin', '/%252e%252e/admin', '/%252e%252e/admin', '/%252e%252e/admin', 'istio: a double-encoded dot stays encoded'],
  ['/%c0%ae%c0%ae/admin', '/%c0%ae%c0%ae/admin', '/%c0%ae%c0%ae/admin', '/%c0%ae%c0%ae/admin', '/%c0%ae%c0%ae/admin', 'istio: overlong UTF-8 is not a dot'],
  ['/a/%2F%2f/c', '/a/%2F%2f/c', '/a/%2F%2f/c', '/a/%2F%2f/c', '/a/c', 'envoy: escapes kept as written, hex case too'],
  ['/%5c%25', '/%5c%25', '/%5c%25', '/%5c%25', '/%25', 'envoy (BASE); derived (decoding): "\\" then merged'],
  ['/xyz%30..//abc', '/xyz%30..//abc', '/xyz0..//abc', '/xyz0../abc', '/xyz0../abc', 'istio'],
  ['/%%30%30', '/%%30%30', '/%2500', '/%2500', '/%2500', 'derived: a "%" that starts no escape becomes %25 when decoding would make one (%00)'],
  // Raw characters the canonicalizer escapes (llhttp lets these through).
  ['/admin<x>', '/admin<x>', '/admin%3Cx%3E', '/admin%3Cx%3E', '/admin%3Cx%3E', 'derived: < and > are escaped, upper-case hex'],
  ['/a"b{c}|d^e`f', '/a"b{c}|d^e`f', '/a%22b%7Bc%7D%7Cd%5Ee%60f', '/a%22b%7Bc%7D%7Cd%5Ee%60f', '/a%22b%7Bc%7D%7Cd%5Ee%60f', 'derived: " { } | ^ ` are escaped'],
  // What makes it fail: an escaped NUL.
  ['/x/%00/y', '/x/%00/y', REJECT, REJECT, REJECT, 'envoy: %00 is invalid in a path ("/xyz/.%00../abc")'],
  ['/xyz/AAAAA%%0000/abc', '/xyz/AAAAA%%0000/abc', REJECT, REJECT, REJECT, 'envoy'],
  // Fragments: Istio strips them, in every mode (Envoy alone would reject).
  ['/app#frag', '/app', '/app', '/app', '/app', 'istio'],
  ['/a/b#c/../../admin', '/a/b', '/a/b', '/a/b', '/a/b', 'derived: the fragment goes before anything else'],
  ['/a?b#c', '/a?b', '/a?b', '/a?b', '/a?b', 'derived: from the first "#" on, even inside the query'],
  // Path parameters on dot segments (Envoy's 2026 fix, on by default); elsewhere they stay.
  ['/..;x/admin', '/..;x/admin', '/admin', '/admin', '/admin', 'envoy: "/..;foo=bar/abc" is "/abc"'],
  ['/admin;a=b/xyz', '/admin;a=b/xyz', '/admin;a=b/xyz', '/admin;a=b/xyz', '/admin;a=b/xyz', 'istio'],
  // Already normal, and what merge_slashes does at the edges.
  ['/A/B/C', '/A/B/C', '/A/B/C', '/A/B/C', '/A/B/C', 'envoy: case is kept'],
  ['/a//b?x=//y', '/a//b?x=//y', '/a//b?x=//y', '/a/b?x=//y', '/a/b?x=//y', 'envoy: slashes in the query are not merged'],
  ['//', '//', '//', '//', '//', "derived: Envoy's mergeSlashes keeps a path of slashes only as //"],
];

const MODES: readonly PathNormalizationType[] = [NONE, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES];

t.test(`${TABLE.length} paths × the four modes, as Envoy normalizes them`, async (t) => {
  t.ok(TABLE.length >= 25);
  for (const [input, ...row] of TABLE) {
    const why = row[4];
    MODES.forEach((mode, i) => {
      const want = row[i];
      t.equal(
        normalizeRequestPath(input, mode),
        want === REJECT ? undefined : want,
        `${mode} ${JSON.stringify(input)} → ${want === REJECT ? '400' : JSON.stringify(want)} (${why})`,
      );
    });
  }
});

t.test('DEFAULT is BASE', async (t) => {
  for (const [input, , base] of TABLE) t.equal(normalizeRequestPath(input, PATH_NORMALIZATION.DEFAULT), base === REJECT ? undefined : base, input);
});

t.test("every escape %01-%ff under DECODE_AND_MERGE_SLASHES: Istio's PercentEncoded case", async (t) => {
  // Decoded: unreserved characters, "." (a dot in a name), and / \ (as slashes).
  const decoded = (b: number): boolean => /[A-Za-z0-9\-._~/\\]/.test(String.fromCharCode(b));
  for (let b = 1; b <= 0xff; b++) {
    const input = `/admin%${b.toString(16).padStart(2, '0')}`;
    const c = String.fromCharCode(b);
    const want = decoded(b) ? `/admin${c === '\\' ? '/' : c}` : input;
    t.equal(normalizeRequestPath(input, DECODE_AND_MERGE_SLASHES), want, input);
  }
  t.equal(normalizeRequestPath('/admin%00', DECODE_AND_MERGE_SLASHES), undefined, 'istio: /admin%00 is 400');
});

t.test('the steps alone, as in Envoy’s unit tests', async (t) => {
  // canonicalPath (normalize_path)
  for (const [input, want] of [
    ['/a/b/../c', '/a/c'],
    ['/a/b/./c', '/a/b/c'],
    ['a/b/../c', '/a/c'],
    ['/a/b/../../../../c', '/c'],
    ['/%c0%af', '/%c0%af'],
    ['/a/b/%2E./c', '/a/c'],
    ['..', '/'],
    ['', '/'],
  ]) {
    t.equal(canonicalizePath(input), want, `canonical ${JSON.stringify(input)}`);
  }
  for (const input of ['/xyz/.%00../abc', '/xyz/%00.%00./abc']) t.equal(canonicalizePath(input), undefined, `${input} fails`);
  // mergeSlashes
  for (const [input, want] of [
    ['a//b/c', 'a/b/c'],
    ['/a//b/c/', '/a/b/c/'],
    ['//a/b/c', '/a/b/c'],
    ['/a/b/c//', '/a/b/c/'],
    ['/a////b/c', '/a/b/c'],
    ['/a//b?', '/a/b?'],
    ['//a/?b', '/a/?b'],
  ]) {
    t.equal(mergeSlashes(input), want, `merge ${input}`);
  }
  // unescapeSlashes (UNESCAPE_AND_FORWARD)
  for (const [input, want] of [
    ['%2f%2F', '//'],
    ['%2b', '%2b'],
    ['/abc%2', '/abc%2'],
    ['%%2fa/', '%/a/'],
    ['%2%2fa/', '%2/a/'],
    ['%5c%5C', '\\\\'],
    ['/x/%2E%2e/z%2f%2Fabc%5C../def', '/x/%2E%2e/z//abc\\../def'],
    ['%2fa%5Cb%2fc%5c?%2fabcd%5C%%2f%', '/a\\b/c\\?%2fabcd%5C%%2f%'],
  ]) {
    t.equal(unescapeSlashes(input), want, `unescape ${input}`);
  }
});

t.test('absolute-form targets: path and authority split as written, then normalized', async (t) => {
  const ok = (path: string, authority?: string) => ({ ok: true, path, ...(authority === undefined ? {} : { authority }) });
  const refused = (r: (typeof PATH_REJECTIONS)[keyof typeof PATH_REJECTIONS]) => ({ ok: false, rejection: r });
  const cases: ReadonlyArray<readonly [string, PathNormalizationType, object]> = [
    ['http://productpage:9080/%61dmin', BASE, ok('/admin', 'productpage:9080')],
    ['http://productpage:9080/%61dmin', NONE, ok('/%61dmin', 'productpage:9080')],
    ['http://productpage:9080/x\\..\\admin', BASE, ok('/admin', 'productpage:9080')],
    ['http://productpage:9080/x\\..\\admin', NONE, ok('/x\\..\\admin', 'productpage:9080')],
    ['http://productpage:9080//admin', BASE, ok('//admin', 'productpage:9080')],
    ['http://productpage:9080//admin', MERGE_SLASHES, ok('/admin', 'productpage:9080')],
    ['http://productpage:9080/admin%2Fx', DECODE_AND_MERGE_SLASHES, ok('/admin/x', 'productpage:9080')],
    ['http://productpage:9080/%2e%2e/admin?x=/..#f', BASE, ok('/admin?x=/..', 'productpage:9080')],
    ['HTTP://productpage:9080/a', BASE, ok('/a', 'productpage:9080')],
    ['http://user:pw@productpage:9080/a', BASE, ok('/a', 'productpage:9080')],
    ['http://productpage:9080', BASE, ok('/', 'productpage:9080')],
    ['http://productpage:9080/a%00', BASE, refused(PATH_REJECTIONS.normalizationFailed)],
    ['http://productpage:9080/a%00', NONE, ok('/a%00', 'productpage:9080')],
    ['http://productpage:9080?x', BASE, refused(PATH_REJECTIONS.notAbsolutePath)],
    ['ftp://productpage:9080/a', BASE, refused(PATH_REJECTIONS.invalidScheme)],
    ['http:///admin', BASE, refused(PATH_REJECTIONS.invalidUrl)],
    ['*', BASE, ok('*')],
    ['/%61dmin', BASE, ok('/admin')],
  ];
  for (const [target, mode, want] of cases) t.same(normalizeRequestTarget(target, mode), want, `${mode} ${target}`);
  t.same(PATH_REJECTIONS.normalizationFailed, { status: 400, details: 'path_normalization_failed', body: '', closeConnection: false });
  t.same(PATH_REJECTIONS.notAbsolutePath, { status: 404, details: 'absolute_path_rejected', body: '', closeConnection: false });
});

t.test("Istio's mapping onto the connection manager's fields", async (t) => {
  t.same(hcmPathOptions(NONE), { normalize_path: false, merge_slashes: false, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' });
  t.same(hcmPathOptions(BASE), { normalize_path: true, merge_slashes: false, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' });
  t.same(hcmPathOptions(PATH_NORMALIZATION.DEFAULT), hcmPathOptions(BASE));
  t.same(hcmPathOptions(MERGE_SLASHES), { normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' });
  t.same(hcmPathOptions(DECODE_AND_MERGE_SLASHES), { normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD' });
});
