// Hostile: walking around a DENY on /admin* at the waypoint by spelling the path another way,
// under Istio's default path normalization (BASE), on the 10.87 block. Every class of bypass that
// BASE closes in Envoy is refused here: 403 from RBAC once the path is normalized, or 400 where
// Envoy (or node:http's parser, in front of us) refuses the target; none reaches the pod. The
// waypoint survives, other requests keep flowing, and its memory and fds come back.
//
// What BASE does not close, in Istio either, is left to the stronger modes (see
// test/waypoint/path-normalization.test.ts): "//admin" (MERGE_SLASHES) and "/x%2F..%2Fadmin"
// (DECODE_AND_MERGE_SLASHES) are different paths to Envoy under BASE.
import t from 'tap';
import type { Test } from 'tap';
import { Mesh, startMesh } from '../fixtures/scenario-mesh';
import { get, PATH_PODS, pathScenario, probePod, requestLines, send, STAND_IN_FOR } from '../waypoint/fixtures/path-mesh';
import { watch } from './fixtures/health';
import type { StandInPod } from './fixtures/stand-in-pod';

const N = 87;
const PIPELINED = 100;

let mesh: Mesh;
let pod: StandInPod | undefined;

t.before(async () => {
  // No meshConfig: the default, BASE.
  mesh = await startMesh(pathScenario(N), 'hostile-path', [STAND_IN_FOR]);
  pod = await probePod(mesh, N);
});

t.teardown(async () => {
  await pod?.close();
  await mesh?.stop();
});

// Should the waypoint die, say how: its exit and the last lines it wrote to stderr.
t.afterEach((t) => {
  const child = mesh?.supervisor.children.find((c) => c.spec.name === PATH_PODS.waypoint);
  if (child && (child.process.exitCode !== null || child.process.signalCode !== null)) {
    t.comment(`the waypoint exited (code ${child.process.exitCode}, signal ${child.process.signalCode}):\n${child.tail.join('\n')}`);
  }
});

/** Other traffic: an allowed request still reaches the pod, normalized. */
async function flowing(t: Test): Promise<void> {
  const before = pod!.seen.length;
  t.equal((await get(N, '/public/./ok')).status, 200, 'an allowed request still gets 200');
  t.same(requestLines(pod!).slice(before), ['GET /public/ok'], 'and reaches the pod');
}

// [class, request target, the answer Envoy gives]
const BYPASSES: ReadonlyArray<readonly [string, string, number]> = [
  ['plain', '/admin', 403],
  ['percent-encoded unreserved', '/%61dmin', 403],
  ['percent-encoded, every letter', '/%61%64%6d%69%6e/users', 403],
  ['percent-encoded, upper-case hex', '/%61%64%6D%69%6E', 403],
  ['absolute-form', 'http://probe:8080/%61dmin', 403],
  ['absolute-form, upper-case scheme', 'HTTP://probe:8080/admin', 403],
  ['absolute-form with userinfo', 'http://x:y@probe:8080/admin', 403],
  ['backslashes', '/x\\..\\admin', 403],
  ['backslash and dot', '/public\\.\\..\\admin', 403],
  ['dot segment', '/./admin', 403],
  ['dot-dot segment', '/public/../admin', 403],
  ['climbing above the root', '/../../../admin', 403],
  ['encoded dot-dot', '/public/%2e%2e/admin', 403],
  ['half-encoded dot-dot', '/public/%2E./admin', 403],
  ['half-encoded dot-dot, other half', '/public/.%2e/admin', 403],
  ['dot-dot with path parameters', '/public/..;jsessionid=1/admin', 403],
  ['dot with path parameters', '/.;x/admin', 403],
  ['fragment', '/admin#public', 403],
  ['query', '/admin?public=1', 403],
  ['everything at once', 'http://probe:8080/public/%2e%2e\\%61dmin/.;x/?q=/public#f', 403],
  ['escaped NUL', '/admin%00', 400],
  ['escaped NUL before dot-dot', '/%00/../admin', 400],
  // node:http's parser (llhttp) refuses these before the waypoint sees them, as Envoy's codec would.
  ['no leading slash', '\\admin', 400],
  ['raw control character', '/ad\x01min', 400],
  ['raw byte above 0x7F', '/\xe1dmin', 400],
  ['scheme without a host', 'http:/admin', 400],
];

t.test('each bypass class of a DENY /admin* is refused under the default normalization', async (t) => {
  const victim = watch(mesh, PATH_PODS.waypoint);
  pod!.reset();
  for (const [what, target, status] of BYPASSES) {
    const reply = await get(N, target);
    t.equal(reply.status, status, `${what}: GET ${JSON.stringify(target)} → ${status}`);
    if (status === 403) t.equal(reply.body, 'RBAC: access denied');
  }
  t.same(requestLines(pod!), [], 'none reached the pod');
  await victim.check(t, () => flowing(t));
});

t.test(`${PIPELINED} pipelined bypasses on one connection: each refused, one for one`, async (t) => {
  const victim = watch(mesh, PATH_PODS.waypoint);
  pod!.reset();
  const denied = BYPASSES.filter(([, target, status]) => status === 403 && target.startsWith('/'));
  const targets = Array.from({ length: PIPELINED }, (_, i) => denied[i % denied.length][1]);
  const requests = targets
    .map((target, i) => `GET ${target} HTTP/1.1\r\nhost: probe:8080${i === PIPELINED - 1 ? '\r\nconnection: close' : ''}\r\n\r\n`)
    .join('');
  const statuses = (await send(N, requests, PIPELINED)).responses.map((r) => r.status);
  t.equal(statuses.length, PIPELINED, `${PIPELINED} answers`);
  t.ok(
    statuses.every((s) => s === 403),
    'every one 403',
  );
  t.same(requestLines(pod!), [], 'none reached the pod');
  await victim.check(t, () => flowing(t));
});

t.test('long crafted paths: bounded work, each refused', async (t) => {
  const victim = watch(mesh, PATH_PODS.waypoint);
  pod!.reset();
  // Near node:http's 16 KiB header limit: thousands of segments to resolve or escape.
  const long = [
    '/' + 'a/'.repeat(2500) + '../'.repeat(2500) + 'admin',
    '/' + '%2e%2e/'.repeat(1500) + 'admin',
    '/' + 'x\\..\\'.repeat(1500) + '%61dmin',
    '/' + '%61'.repeat(3000) + '/../admin',
  ];
  for (let round = 0; round < 25; round++) {
    const replies = await Promise.all(long.map((target) => get(N, target)));
    for (const [i, reply] of replies.entries()) if (round === 0) t.equal(reply.status, 403, `crafted path ${i} (${long[i].length} bytes): 403`);
  }
  t.same(requestLines(pod!), [], 'none reached the pod');
  await victim.check(t, () => flowing(t));
});
