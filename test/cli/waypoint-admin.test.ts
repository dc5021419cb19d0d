// `hbone-sim waypoint generate|apply|list|delete` without a mesh: the Gateway istioctl writes,
// and clear usage errors. (Against a running mesh: test/docs/hands-on.test.ts.)
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { simWith } from '../runner/fixtures/cli';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-waypoint-admin-'));
t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
const sim = simWith({ HBONE_SIM_HOME: home });

t.test('generate: the Gateway istioctl writes', async (t) => {
  const r = sim('waypoint', 'generate', '--name', 'reviews-wp', '-n', 'bookinfo', '--for', 'all');
  t.equal(r.code, 0, r.err);
  t.same(parse(r.out), {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { labels: { 'istio.io/waypoint-for': 'all' }, name: 'reviews-wp', namespace: 'bookinfo' },
    spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
  });
});

t.test('usage errors', async (t) => {
  const bad = sim('waypoint', 'generate', '--for', 'pods');
  t.equal(bad.code, 2);
  t.match(bad.err, /--for must be one of service, workload, all, none, not "pods"/);
  const verb = sim('waypoint', 'install');
  t.equal(verb.code, 2);
  t.match(verb.err, /unknown waypoint command "install" \(apply, list, delete, generate\)/);
  t.match(sim('waypoint', 'apply', 'extra').err, /waypoint apply takes no name as an argument: use --name/);
  const noMesh = sim('waypoint', 'list');
  t.equal(noMesh.code, 2);
  t.match(noMesh.err, /no mesh is running/);
  const role = sim('waypoint', '--pod', 'x');
  t.equal(role.code, 2);
  t.match(role.err, /waypoint needs --scenario <value>/, 'the process role still needs its scenario');
});
