// meshConfig.pathNormalization through the real waypoint, on the 10.86 block: a DENY on /admin*
// holds for every spelling BASE normalizes, an allowed path reaches the pod in its normalized
// form, a path Envoy cannot normalize gets Envoy's 400, and NONE forwards paths as received.
// Node D runs no ztunnel: the test serves the probe pod's :15008 and records the requests the
// pod's own HTTP parser reads (fixtures/path-mesh.ts).
import t from 'tap';
import { hostAddress } from '../../src/mesh/model';
import { Mesh, startMesh } from '../fixtures/scenario-mesh';
import type { StandInPod } from '../hostile/fixtures/stand-in-pod';
import { accessLog, get, PATH_PODS, pathAddresses, pathScenario, probePod, requestLines, send, STAND_IN_FOR } from './fixtures/path-mesh';

const N = 86;
const A = pathAddresses(N);
const RBAC_DENIED = 'RBAC: access denied';
const DENY_RULE = 'ns[default]-policy[probe-deny-admin]-rule[0]';

interface Running {
  readonly mesh: Mesh;
  readonly pod: StandInPod;
  readonly log: Record<string, unknown>[];
}

async function start(normalization: string): Promise<Running> {
  const mesh = await startMesh(pathScenario(N, normalization), `path-${normalization.toLowerCase()}`, [STAND_IN_FOR]);
  try {
    const pod = await probePod(mesh, N);
    return { mesh, pod, log: accessLog(mesh, PATH_PODS.waypoint) };
  } catch (err) {
    await mesh.stop();
    throw err;
  }
}

async function stop(r: Running | undefined): Promise<void> {
  await r?.pod.close().catch(() => undefined);
  await r?.mesh.stop();
}

/** The connection-manager fields of the waypoint's inbound-vip listener, from its /config_dump. */
async function hcmPathFields(mesh: Mesh): Promise<Record<string, unknown>> {
  const dump = JSON.parse((await mesh.get(`http://${hostAddress(A.pod.waypoint)}:15000/config_dump`)).body) as {
    configs: {
      '@type': string;
      dynamic_listeners?: { name: string; active_state: { listener: { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] } } }[];
    }[];
  };
  const listeners = dump.configs.find((c) => c['@type'].endsWith('ListenersConfigDump'))!.dynamic_listeners!;
  const vip = listeners.find((l) => l.name.startsWith('inbound-vip|8080|'))!;
  const hcm = vip.active_state.listener.filter_chains[0].filters[0].typed_config;
  return Object.fromEntries(['normalize_path', 'merge_slashes', 'path_with_escaped_slashes_action'].filter((k) => k in hcm).map((k) => [k, hcm[k]]));
}

/** The access-log line for `path`, once the waypoint has written it (it logs when the response is done). */
async function logged(log: Record<string, unknown>[], from: number, path: string): Promise<Record<string, unknown> | undefined> {
  for (let i = 0; i < 100; i++) {
    const hit = log.slice(from).find((l) => l.path === path);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

t.test('BASE (Istio’s default)', async (t) => {
  let r: Running | undefined;
  t.teardown(() => stop(r));
  r = await start('BASE');
  const { pod, log } = r;

  t.test('the bypasses of a DENY /admin* are refused, and none reaches the pod', async (t) => {
    pod.reset();
    for (const target of [
      '/admin',
      '/%61dmin',
      'http://probe:8080/%61dmin',
      '/x\\..\\admin',
      '/./admin',
      '/%2e%2e/admin',
      '/public/../admin',
      '/public/%2E%2E/%61dmin/users',
      '/..;x/admin',
      '/admin#fragment',
      'http://probe:8080/x\\..\\%61dmin?q=1',
    ]) {
      const reply = await get(N, target);
      t.equal(reply.status, 403, `GET ${target}: 403`);
      t.equal(reply.body, RBAC_DENIED);
    }
    t.same(requestLines(pod), [], 'nothing reached the pod');
  });

  t.test('an allowed path reaches the pod normalized, query as sent', async (t) => {
    pod.reset();
    t.equal((await get(N, '/public/./x/../%61pi\\v1')).status, 200);
    t.equal((await get(N, 'http://probe:8080/public/%7Euser%2Fx?q=/../a%2e')).status, 200);
    t.equal((await get(N, '//admin')).status, 200, 'BASE does not merge slashes: //admin is not /admin* (MERGE_SLASHES closes that)');
    t.same(requestLines(pod), ['GET /public/api/v1', 'GET /public/~user%2Fx?q=/../a%2e', 'GET //admin'], 'what the pod parsed');
  });

  t.test('a path Envoy cannot normalize: 400 path_normalization_failed, empty body', async (t) => {
    pod.reset();
    const from = log.length;
    const reply = await get(N, '/x/%00/admin');
    t.equal(reply.status, 400);
    t.equal(reply.headers['content-length'], '0', 'no body, as Envoy’s local reply');
    t.same(requestLines(pod), []);
    t.match(
      await logged(log, from, '/x/%00/admin'),
      { response_code: 400, response_flags: '-', response_code_details: 'path_normalization_failed' },
      'the access log says why',
    );
    // A bodyless request leaves the connection open, as Envoy does: the next request is answered.
    const both = await send(N, 'GET /x/%00 HTTP/1.1\r\nhost: probe:8080\r\n\r\nGET /public/%61 HTTP/1.1\r\nhost: probe:8080\r\nconnection: close\r\n\r\n', 2);
    t.same(
      both.responses.map((x) => x.status),
      [400, 200],
      'then 200 on the same connection',
    );
    // With a body, Envoy answers before reading it and closes.
    const post = await send(N, 'POST /x/%00 HTTP/1.1\r\nhost: probe:8080\r\ncontent-length: 5\r\n\r\nhello');
    t.equal(post.responses[0]?.status, 400);
    t.equal(post.responses[0]?.headers.connection, 'close');
    t.equal(post.ended, 'closed');
    t.same(requestLines(pod), ['GET /public/a']);
  });

  t.test('the access log shows the normalized path RBAC judged', async (t) => {
    const from = log.length;
    t.equal((await get(N, '/%61dmin/%2e/x')).status, 403);
    t.match(await logged(log, from, '/admin/x'), { response_code: 403, response_code_details: `rbac_access_denied_matched_policy[${DENY_RULE}]` });
  });

  t.test('/config_dump shows BASE as Istio writes it', async (t) => {
    t.same(await hcmPathFields(r!.mesh), { normalize_path: true, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' });
  });
});

t.test('NONE: paths are used as received', async (t) => {
  let r: Running | undefined;
  t.teardown(() => stop(r));
  r = await start('NONE');
  const { pod } = r;
  pod.reset();
  for (const target of ['/%61dmin', '/x\\..\\admin', 'http://probe:8080/public/../admin', '/x/%00', '/a//b/%2e/c#frag']) {
    t.equal((await get(N, target)).status, 200, `GET ${target}: 200, unnormalized`);
  }
  t.same(
    requestLines(pod),
    ['GET /%61dmin', 'GET /x\\..\\admin', 'GET /public/../admin', 'GET /x/%00', 'GET /a//b/%2e/c'],
    'the pod gets the raw path (only a fragment is stripped, as Istio does in every mode)',
  );
  t.equal((await get(N, '/admin#x')).status, 403, '/admin itself is still denied');
  t.same(await hcmPathFields(r.mesh), { normalize_path: false, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' }, '/config_dump');
});
