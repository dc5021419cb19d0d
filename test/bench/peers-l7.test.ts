// The peers suite's L7 job for real, briefly, on its own block (10.123 at 127.123): our waypoint
// and HAProxy behind the same route and policy, every request of every run answered 200 on both
// sides, both really routing (404 outside the route, 403 for another principal, no answer without
// a client certificate), figures that read the right way round, no HAProxy left behind; a missing
// HAProxy is a skip with its reason; the waypoint's profile under the same load. Speed is not judged.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchMesh as BenchMeshClass } from '../../bench/mesh';
import type { PacedRun } from '../../bench/paced-load';
import type { L7Path, RouteCheck } from '../../bench/peers/l7';
import type { PeerComparison } from '../../bench/peers/types';
import { findHaproxy, sanUriHexPattern } from '../../bench/peers/haproxy';
import { profileWindow } from '../../bench/peers/waypoint-profile';
import { childrenOf } from '../../bench/proc';

const BLOCK = 123;
// The mesh's processes and the pod's TLS endpoint are started from the build, as the bench runs.
const DIST = path.resolve(__dirname, '..', '..', 'dist', 'bench');
const dist = {
  mesh: () => import(path.join(DIST, 'mesh.js')) as Promise<typeof import('../../bench/mesh')>,
  l7: () => import(path.join(DIST, 'peers', 'l7.js')) as Promise<typeof import('../../bench/peers/l7')>,
  profile: () => import(path.join(DIST, 'peers', 'waypoint-profile.js')) as Promise<typeof import('../../bench/peers/waypoint-profile')>,
};
const HAPROXY = findHaproxy();
const SKIP = 'reason' in HAPROXY ? HAPROXY.reason : false;
// CI installs haproxy: missing there is a broken set-up, not a reason to skip.
if (SKIP && process.env.HBONE_SIM_CI) t.fail(`${SKIP}: .ci/run installs haproxy for this test`);

const comm = (pid: number): string | undefined => {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
};

t.test('a SAN URI as HAProxy sees it in the certificate: tag 0x86, its length, its bytes, upper-case hex', async (t) => {
  t.equal(sanUriHexPattern('spiffe://a/b'), '860C7370696666653A2F2F612F62');
  t.throws(() => sanUriHexPattern(`spiffe://${'x'.repeat(200)}`), /longer than/);
});

t.test("a profile's window keeps the samples stamped inside it", async (t) => {
  const frame = { functionName: 'f', url: '', lineNumber: 0 };
  const p = { nodes: [{ id: 1, callFrame: frame }], startTime: 1000, endTime: 1400, samples: [1, 1, 1, 1], timeDeltas: [100, 100, 100, 100] };
  const w = profileWindow(p, 1150, 1350);
  t.same(w.samples, [1, 1], 'the samples at 1200 and 1300');
  t.same(w.timeDeltas, [50, 100], 'deltas from the window start');
  t.equal(w.startTime, 1150);
  t.equal(w.endTime, 1350);
});

t.test("the profile's own functions: one per call chain, the innermost, named", async (t) => {
  const { distinctOwn } = await dist.l7();
  t.same(
    distinctOwn([
      ['(anonymous) src/a.js:1', 300],
      ['run src/b.js:1', 180],
      ['turn src/b.js:2', 178],
      ['onRequest src/c.js:1', 176],
      ['originateStage src/c.js:9', 110],
      ['forwardStages src/c.js:5', 100],
    ]),
    [
      ['onRequest src/c.js:1', 176],
      ['originateStage src/c.js:9', 110],
      ['forwardStages src/c.js:5', 100],
    ],
  );
});

t.test('HAProxy missing: the job is skipped with the reason', async (t) => {
  const { runL7Peer } = await dist.l7();
  const lines: string[] = [];
  // Nothing of the mesh is touched before HAProxy is found.
  const mesh = undefined as unknown as BenchMeshClass;
  const r = await runL7Peer({ mesh, seconds: 1, reps: 1, warmupSeconds: 0, progress: (l) => lines.push(l), env: { HAPROXY: '/nonexistent/haproxy' } });
  t.same(r, { job: 'l7', peer: 'HAProxy', reason: 'HAPROXY=/nonexistent/haproxy is not an executable file' });
  t.match(lines.join('\n'), /HAProxy skipped: HAPROXY=\/nonexistent\/haproxy/);
});

t.test('our waypoint against HAProxy, briefly', { skip: SKIP }, async (t) => {
  const { BenchMesh } = await dist.mesh();
  const { runL7Peer } = await dist.l7();
  const mesh = await BenchMesh.start({ block: BLOCK });
  t.teardown(() => mesh.stop());
  const meshPids = new Set(mesh.pids.values());
  const checks: RouteCheck[] = [];
  const runs: [L7Path, PacedRun][] = [];
  // Processes this test started besides the mesh, seen while the load ran: HAProxy and the pod's TLS endpoint.
  const extra = new Map<number, string | undefined>();
  const r = await runL7Peer({
    mesh,
    seconds: 1,
    reps: 1,
    warmupSeconds: 0.2,
    progress: (l) => t.comment(l),
    onRouteChecks: (c) => checks.push(...c),
    onRun: (p, run) => {
      runs.push([p, run]);
      for (const pid of childrenOf(process.pid)) if (!meshPids.has(pid)) extra.set(pid, comm(pid));
    },
  });
  if (!t.ok('figures' in r, 'a comparison, not a skip', { r })) return;
  const c = r as PeerComparison;
  t.equal(c.job, 'l7');
  t.equal(c.oursName, 'waypoint');
  t.match(c.peer, /^HAProxy \d+\.\d+/);

  t.same(
    runs.map(([p]) => p),
    ['l4', 'l7', 'pod-tls', 'haproxy', 'l4', 'l7', 'pod-tls', 'haproxy'],
    'a warm-up of every path, then the repetition, interleaved',
  );
  for (const [p, run] of runs) {
    t.ok(run.sent > 0 && run.answered === run.sent && run.errors === 0 && run.non2xx === 0, `${p}: every request answered 2xx`, {
      sent: run.sent,
      answered: run.answered,
      errors: run.errors,
      non2xx: run.non2xx,
    });
  }

  const outcome = (side: string, what: string) => checks.find((x) => x.side === side && x.what === what)?.got;
  t.equal(outcome('ours', 'the route'), 200);
  t.equal(outcome('theirs', 'the route'), 200);
  for (const side of ['ours', 'theirs']) {
    t.equal(outcome(side, 'another path'), 404, `${side}: outside the path prefix, 404`);
    t.equal(outcome(side, 'a path the prefix does not cover'), 404, `${side}: the prefix covers whole segments`);
    t.equal(outcome(side, 'no route header'), 404, `${side}: without the header, 404`);
  }
  t.equal(outcome('theirs', 'another principal'), 403, 'HAProxy refuses a principal the policy does not allow');
  t.match(outcome('theirs', 'no client certificate'), /^refused: /, 'HAProxy requires a client certificate');

  t.same(
    c.figures.map((f) => [f.metric, f.better]),
    [
      ['vCPU per 1,000 rps', 'lower'],
      ['p90 added ms', 'lower'],
    ],
  );
  for (const f of c.figures) {
    t.ok(Number.isFinite(f.ours) && Number.isFinite(f.theirs), `${f.metric}: finite (ours ${f.ours}, theirs ${f.theirs})`);
    // Above 1 = we do better: for a cost, the peer's ÷ ours. A p90 added can come out at or below 0 in a short noisy run: no ratio then.
    if (f.ours > 0 && f.theirs > 0) t.ok(Math.abs(f.ratio - f.theirs / f.ours) < 1e-9, `${f.metric}: ratio is theirs ÷ ours`);
    else t.ok(Number.isNaN(f.ratio), `${f.metric}: no ratio without two positive figures`);
  }
  t.ok(c.figures[0].ours > 0 && c.figures[0].theirs > 0, 'both hops spent CPU');
  t.ok(c.differences.some((d) => /HBONE/.test(d)) && c.differences.some((d) => /pod's TLS endpoint/.test(d)), 'the differences say what differs');
  if (c.figures.some((f) => f.ratio < 1)) t.match(c.behind, /No profile taken/, 'behind, without a profile block: says so');

  t.same([...new Set(extra.values())].sort(), ['haproxy', 'node'], 'HAProxy and the pod TLS endpoint ran beside the mesh');
  const left = [...extra.keys()].filter((pid) => comm(pid) !== undefined);
  t.same(left, [], 'neither is left running');

  // The mesh is back to its own configuration: no route, so any path reaches the pod.
  const { probe } = await import('../../bench/peers/probe');
  t.equal(await probe(mesh.addresses.capture.httpL7, '/other', { host: 'http-l7' }, Buffer.from('x')), 200, 'the route and policy were taken back');
});

t.test("the waypoint's profile under the same load", { skip: SKIP }, async (t) => {
  const { profileWaypoint } = await dist.profile();
  const { profileText } = await dist.l7();
  const s = await profileWaypoint({
    block: BLOCK,
    seconds: 1,
    rate: 1000,
    connections: 16,
    body: Buffer.alloc(1024, 0x61),
    headers: { host: 'http-l7', 'x-bench-route': 'peers' },
    path: '/echo',
    progress: (l) => t.comment(l),
  });
  t.ok(s.busyMs > 0 && s.wallMs >= 900 && s.wallMs < 5000, `the load's window only (${s.busyMs.toFixed(0)} ms busy in ${s.wallMs.toFixed(0)} ms)`);
  t.ok(
    s.ownInclusive.some(([f]) => f.includes('src/waypoint/')),
    "the waypoint's own functions are there",
  );
  t.match(profileText(s), /^Profile of the waypoint under the same load/);
});
