// The peers suite's L7 job: our waypoint against HAProxy doing the nearest equivalent, on the same
// machine, in the same run, with the same client (the paced generator: 16 keep-alive connections,
// one prebuilt 1 KB POST, 1,000 requests/s), the same certificates (the bench mesh's CA) and the
// same sink (the bench mesh's http-echo). Both apply the same route and policy (l7-route.ts).
//
//   ours:   client ─► capture ─► ztunnel-node-a ══HBONE══► waypoint ══HBONE══► ztunnel-node-b ─► http-echo
//           baseline: the L4 path, the same without the waypoint (ztunnel A ══HBONE══► ztunnel B)
//   theirs: client ══mTLS══► HAProxy ══mTLS══► pod-tls ─► http-echo
//           baseline: client ══mTLS══► pod-tls ─► http-echo
//
// "p90 added" is a path's p90 minus its baseline's: what putting the L7 hop in the way costs a
// request (ours: the waypoint and the extra HBONE leg it brings; theirs: HAProxy and the extra TLS
// leg it brings). vCPU per 1,000 rps is the hop's own process (waypoint; haproxy) from /proc, over
// each run's whole window as the requests suite measures it. Runs are interleaved path by path,
// figures are medians over the repetitions. A missing or broken HAProxy is skipped, never a crash.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import type { BenchMesh, Endpoint } from '../mesh';
import { ROLES } from '../mesh';
import { drivePaced, PacedRun } from '../paced-load';
import { percentiles } from '../load';
import { median } from '../core/measure';
import { startSampling } from '../proc';
import { FIXED_RATE, FIXED_RATE_CONNECTIONS, PAYLOAD_BYTES } from '../suites/requests';
import type { ProfileSummary } from '../mesh-profile';
import { WorkloadCertificate } from '../../src/identity/workload-cert';
import { makeSpiffeId } from '../../src/identity/spiffe';
import { PeerComparison, PeerFigure, PeerSkipped, peerRatio, Better } from './types';
import { CLIENT_NAMESPACE, CLIENT_SERVICE_ACCOUNT, ROUTE_HEADER, ROUTE_PATH_PREFIX, routedScenario } from './l7-route';
import { findHaproxy, haproxyVersion, startHaproxy } from './haproxy';
import { PeerProcess } from './peer-process';
import { CERT_CHAIN_FILE, KEY_FILE, ROOT_CERT_FILE } from './pod-tls-main';
import { probe, ProbeOutcome, ProbeTarget } from './probe';
import { NATIVE_KIND, profileWaypoint } from './waypoint-profile';

const JOB = 'l7' as const;
const OURS = ROLES.waypoint;
/** Within the mesh's block 127.<n>: HAProxy's frontend on a /24 the mesh does not use; the pod's TLS endpoint on the pod's own address. */
const HAPROXY_SUBNET = 14;
const HAPROXY_PORT = 8443;
const POD_TLS_PORT = 8443;
/** Identities: HAProxy plays the waypoint (its service account), the pod's TLS endpoint the pod. */
const NAMESPACE = 'bench';
const PEER_SERVICE_ACCOUNT = 'waypoint';
const POD_SERVICE_ACCOUNT = 'http-echo';
/** A caller the policy does not allow, for the 403 check. */
const OTHER_SERVICE_ACCOUNT = 'not-client';
/** The request every path gets: the route's path, its header, the bench's 1 KB payload. */
const REQUEST_PATH = ROUTE_PATH_PREFIX;
const HOST = 'http-l7';
const POD_TLS_MAIN = path.join(__dirname, 'pod-tls-main.js');
/** A paced run's first requests, on fresh connections, are sent but not counted (as in the requests suite). */
const RUN_WARMUP_SECONDS = 0.1;
const MS_DECIMALS = 3;
const CPU_METRIC = 'vCPU per 1,000 rps';

/** The four paths of the comparison, in run order within a repetition: ours, then theirs. */
export const L7_PATHS = ['l4', 'l7', 'pod-tls', 'haproxy'] as const;
export type L7Path = (typeof L7_PATHS)[number];
const PATH_NAMES: Readonly<Record<L7Path, string>> = {
  l4: 'ours without the hop (L4 path)',
  l7: 'ours (waypoint)',
  'pod-tls': 'theirs without the hop (pod TLS)',
  haproxy: 'theirs (HAProxy)',
};

export interface L7PeerSetup {
  /** The running bench mesh: its http-echo is the sink, its CA issues every certificate here. */
  readonly mesh: BenchMesh;
  /** Counted seconds of each paced run. */
  readonly seconds: number;
  /** Repetitions of every path, interleaved; figures are their medians. */
  readonly reps: number;
  /** Requests per second (default 1,000, Istio's published setup). */
  readonly rate?: number;
  /** One uncounted run of every path before the repetitions. */
  readonly warmupSeconds: number;
  readonly progress: (line: string) => void;
  /**
   * When we are behind on CPU: profile the waypoint under the same load for `seconds` on a short
   * mesh of its own, on the free address `block` (the compared mesh's is taken). Without it,
   * `behind` says no profile was taken.
   */
  readonly profile?: { readonly block: number; readonly seconds: number };
  /** Where $HAPROXY is read (a binary to use instead of the installed haproxy); process.env by default. */
  readonly env?: NodeJS.ProcessEnv;
  /** Told of the route checks, once, before the load (tests read them). */
  readonly onRouteChecks?: (checks: readonly RouteCheck[]) => void;
  /** Told of every paced run, warm-ups too (tests count what was answered). */
  readonly onRun?: (path: L7Path, run: PacedRun) => void;
}

/** What one route check asked of a hop and what it answered. */
export interface RouteCheck {
  readonly side: 'ours' | 'theirs';
  readonly what: string;
  readonly expected: number | 'refused';
  readonly got: ProbeOutcome;
}

interface Rep {
  readonly p90Ms: number;
  /** The hop's own process, for the paths that have one. */
  readonly hopVcpuPer1000Rps?: number;
}

/** Our waypoint against HAProxy: a comparison, or why HAProxy was skipped. Throws when a path loses requests or a route check fails. */
export async function runL7Peer(setup: L7PeerSetup): Promise<PeerComparison | PeerSkipped> {
  const found = findHaproxy(setup.env ?? process.env);
  if ('reason' in found) return skipped('HAProxy', found.reason, setup);
  let peer: string;
  try {
    peer = haproxyVersion(found.binary);
  } catch (err) {
    return skipped('HAProxy', `${found.binary} -v failed: ${(err as Error).message}`, setup);
  }

  const { mesh } = setup;
  const n = blockOf(mesh);
  const td = mesh.scenario.trustDomain;
  const issue = (sa: string, ns = NAMESPACE) => WorkloadCertificate.obtain(makeSpiffeId(ns, sa, td), mesh.ca);
  // Issued together, and every one that was issued stopped (its renewal timer) if another fails.
  const issued = await Promise.allSettled([
    issue(CLIENT_SERVICE_ACCOUNT, CLIENT_NAMESPACE),
    issue(PEER_SERVICE_ACCOUNT),
    issue(POD_SERVICE_ACCOUNT),
    issue(OTHER_SERVICE_ACCOUNT),
  ]);
  const refused = issued.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (refused) {
    for (const r of issued) if (r.status === 'fulfilled') r.value.stop();
    throw refused.reason;
  }
  const [client, peerCert, pod, other] = issued.map((r) => (r as PromiseFulfilledResult<WorkloadCertificate>).value);
  const certs = { client, peer: peerCert, pod, other };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-peers-l7-'));
  const haproxyAt: Endpoint = { host: `127.${n}.${HAPROXY_SUBNET}.1`, port: HAPROXY_PORT };
  const podTlsAt: Endpoint = { host: mesh.addresses.direct.http.host, port: POD_TLS_PORT };
  const started: PeerProcess[] = [];
  let routed = false;
  try {
    const podDir = path.join(dir, 'pod');
    fs.mkdirSync(podDir);
    writeIstioFiles(podDir, certs.pod);
    const echo = mesh.addresses.direct.http;
    started.push(
      await PeerProcess.start('pod-tls', process.execPath, [POD_TLS_MAIN, `${podTlsAt.host}:${podTlsAt.port}`, `${echo.host}:${echo.port}`, podDir], podTlsAt),
    );
    const certWithKeyFile = path.join(dir, 'haproxy.pem');
    fs.writeFileSync(certWithKeyFile, certs.peer.tls.cert + certs.peer.tls.key, { mode: 0o600 });
    const rootFile = path.join(dir, ROOT_CERT_FILE);
    fs.writeFileSync(rootFile, certs.peer.tls.ca);
    let haproxy: PeerProcess;
    try {
      haproxy = await startHaproxy(found.binary, dir, { listen: haproxyAt, pod: podTlsAt, certWithKeyFile, rootFile, allowedClient: certs.client.spiffeId });
    } catch (err) {
      return skipped(peer, `HAProxy would not start: ${(err as Error).message}`, setup);
    }
    started.push(haproxy);

    setup.progress(`l7 peers: pushing the route and policy to ${OURS}`);
    // Marked before the push: one that fails half-way is rolled back too.
    routed = true;
    const synced = await mesh.pushConfig(routedScenario(n, td));
    if (synced.nacked.length > 0 || synced.timedOut) throw new Error(`the route and policy were not taken: ${JSON.stringify(synced)}`);

    const body = Buffer.alloc(PAYLOAD_BYTES, 0x61);
    const headers = { host: HOST, [ROUTE_HEADER.name]: ROUTE_HEADER.value };
    const tlsTo = (cert: WorkloadCertificate, server: WorkloadCertificate): ConnectionOptions => ({
      ...cert.tls,
      checkServerIdentity: identityCheck(server.spiffeId),
    });
    const targets: Readonly<Record<L7Path, ProbeTarget>> = {
      l4: mesh.addresses.capture.httpL4,
      l7: mesh.addresses.capture.httpL7,
      'pod-tls': { ...podTlsAt, tls: tlsTo(certs.client, certs.pod) },
      haproxy: { ...haproxyAt, tls: tlsTo(certs.client, certs.peer) },
    };

    const checks = await routeChecks(targets, headers, body, { client: certs.client, other: certs.other, server: certs.peer });
    setup.onRouteChecks?.(checks);
    const failed = checks.filter((c) => !checkPassed(c));
    setup.progress(`l7 peers: route checks ${checks.map((c) => `${c.side} ${c.what} ${c.got}`).join(', ')}`);
    if (failed.length > 0)
      throw new Error(`l7 peers: route checks failed: ${failed.map((c) => `${c.side} ${c.what}: expected ${c.expected}, got ${c.got}`).join('; ')}`);

    const rate = setup.rate ?? FIXED_RATE;
    const hop: Partial<Record<L7Path, { name: string; pid: number }>> = {
      l7: { name: OURS, pid: mesh.pid(OURS) },
      haproxy: { name: 'haproxy', pid: haproxy.pid },
    };
    const run = (p: L7Path, seconds: number, warmupSeconds = 0): Promise<PacedRun> => {
      const t = targets[p];
      const url = `${t.tls ? 'https' : 'http'}://${t.host}:${t.port}${REQUEST_PATH}`;
      const spec = { url, ...(t.tls ? { tls: t.tls } : {}), headers, body, connections: FIXED_RATE_CONNECTIONS, rate, seconds, warmupSeconds };
      return drivePaced(spec).then((r) => (setup.onRun?.(p, r), r));
    };
    for (const p of L7_PATHS) await run(p, setup.warmupSeconds);
    const reps = new Map<L7Path, Rep[]>(L7_PATHS.map((p) => [p, []]));
    for (let i = 0; i < setup.reps; i++) {
      for (const p of L7_PATHS) {
        const h = hop[p];
        const sampled = h ? startSampling(new Map([[h.name, h.pid]])) : undefined;
        const startedAt = process.hrtime.bigint();
        const r = await run(p, setup.seconds, RUN_WARMUP_SECONDS);
        const wallS = Number(process.hrtime.bigint() - startedAt) / 1e9;
        if (r.errors > 0 || r.non2xx > 0 || r.answered !== r.sent)
          throw new Error(`l7 peers: ${PATH_NAMES[p]} lost requests: ${r.sent} sent, ${r.answered} answered, ${r.errors} errors, ${r.non2xx} not 2xx`);
        const p90Ms = percentiles(r.latenciesMs).p90;
        // As the requests suite: CPU over the whole call, per request of the whole call (its warm-up and connecting too).
        const windowRps = (r.answered + r.warmupSent) / wallS;
        const hopVcpuPer1000Rps = sampled && h ? sampled().get(h.name)!.cpuS / wallS / (windowRps / 1000) : undefined;
        reps.get(p)!.push({ p90Ms, ...(hopVcpuPer1000Rps !== undefined ? { hopVcpuPer1000Rps } : {}) });
        const cpu = hopVcpuPer1000Rps !== undefined ? `, ${h!.name} ${hopVcpuPer1000Rps.toFixed(MS_DECIMALS)} vCPU per 1,000 rps` : '';
        setup.progress(`l7 peers ${PATH_NAMES[p]}: rep ${i + 1}/${setup.reps} ${r.rps.toFixed(0)} rps, p90 ${p90Ms.toFixed(MS_DECIMALS)} ms${cpu}`);
      }
    }
    const broken = [...mesh.crashed(), ...started.filter((s) => s.exited).map((s) => `${s.name}: ${s.output}`)];
    if (broken.length > 0) throw new Error(`l7 peers: a process died: ${broken.join('; ')}`);

    const p90 = (p: L7Path) => median(reps.get(p)!.map((r) => r.p90Ms));
    const vcpu = (p: L7Path) => median(reps.get(p)!.map((r) => r.hopVcpuPer1000Rps!));
    const figures = [
      figure(CPU_METRIC, 'lower', vcpu('l7'), vcpu('haproxy')),
      figure('p90 added ms', 'lower', p90('l7') - p90('l4'), p90('haproxy') - p90('pod-tls')),
    ];
    const behind = await whyBehind(setup, figures, { body, headers, rate });
    return { job: JOB, oursName: OURS, peer, figures, differences: DIFFERENCES, ...(behind ? { behind } : {}) };
  } finally {
    for (const s of started.reverse()) await s.stop();
    for (const c of Object.values(certs)) c.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    // The mesh goes back to the configuration it was started with, for whatever runs next on it.
    if (routed) await mesh.pushConfig(mesh.scenario).catch(() => undefined);
  }
}

function skipped(peer: string, reason: string, setup: L7PeerSetup): PeerSkipped {
  setup.progress(`l7 peers: ${peer} skipped: ${reason}`);
  return { job: JOB, peer, reason };
}

function figure(metric: string, better: Better, ours: number, theirs: number): PeerFigure {
  return { metric, better, ours, theirs, ratio: peerRatio(better, ours, theirs) };
}

/** The mesh's block n, from its 127.<n> addresses. */
function blockOf(mesh: BenchMesh): number {
  return Number(mesh.addresses.client.split('.')[1]);
}

/** Istio's file names for a workload's certificate chain, key and root. */
function writeIstioFiles(dir: string, cert: WorkloadCertificate): void {
  fs.writeFileSync(path.join(dir, CERT_CHAIN_FILE), cert.tls.cert);
  fs.writeFileSync(path.join(dir, KEY_FILE), cert.tls.key, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, ROOT_CERT_FILE), cert.tls.ca);
}

/** A server is checked by its SPIFFE ID (a URI SAN), not by host name: the chain is checked against the mesh root by TLS itself. */
function identityCheck(spiffeId: string): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) =>
    (cert.subjectaltname ?? '').split(', ').includes(`URI:${spiffeId}`) ? undefined : new Error(`server is not ${spiffeId}: ${cert.subjectaltname}`);
}

const checkPassed = (c: RouteCheck): boolean => (c.expected === 'refused' ? typeof c.got === 'string' : c.got === c.expected);

/**
 * Both hops answer the route and refuse what the policy does not allow, before anything is
 * measured: a comparison where one side skipped its routing would flatter it. Through the capture
 * the caller is always the client pod, so the other principal and the missing certificate are
 * checked on HAProxy alone.
 */
export async function routeChecks(
  targets: Readonly<Record<L7Path, ProbeTarget>>,
  headers: Readonly<Record<string, string>>,
  body: Buffer,
  certs: { client: WorkloadCertificate; other: WorkloadCertificate; server: WorkloadCertificate },
): Promise<RouteCheck[]> {
  const noHeader = Object.fromEntries(Object.entries(headers).filter(([k]) => k !== ROUTE_HEADER.name));
  const cases = (side: RouteCheck['side'], t: ProbeTarget) =>
    [
      { side, what: 'the route', expected: 200, got: probe(t, REQUEST_PATH, headers, body) },
      { side, what: 'another path', expected: 404, got: probe(t, '/other', headers, body) },
      { side, what: 'a path the prefix does not cover', expected: 404, got: probe(t, `${REQUEST_PATH}es`, headers, body) },
      { side, what: 'no route header', expected: 404, got: probe(t, REQUEST_PATH, noHeader, body) },
    ] as const;
  const peer = targets.haproxy;
  const all = [
    ...cases('ours', targets.l7),
    ...cases('theirs', peer),
    {
      side: 'theirs',
      what: 'another principal',
      expected: 403,
      got: probe({ ...peer, tls: { ...peer.tls, ...certs.other.tls } }, REQUEST_PATH, headers, body),
    },
    {
      side: 'theirs',
      what: 'no client certificate',
      expected: 'refused',
      got: probe({ ...peer, tls: { ca: certs.server.tls.ca, checkServerIdentity: identityCheck(certs.server.spiffeId) } }, REQUEST_PATH, headers, body),
    },
  ] as const;
  return Promise.all(all.map(async (c): Promise<RouteCheck> => ({ side: c.side, what: c.what, expected: c.expected, got: await c.got })));
}

/** How the two setups differ. */
export const DIFFERENCES: readonly string[] = [
  'HBONE: the waypoint terminates an HTTP/2 CONNECT stream over mutual TLS from ztunnel A and originates another to ztunnel B; HAProxy reads and writes HTTP/1.1 straight over TLS on both sides: no HTTP/2 framing, no CONNECT tunnels.',
  "The baselines: ours is the L4 path (ztunnel A to ztunnel B), so the waypoint's p90 added counts the waypoint and the extra HBONE leg it brings (ztunnel A and B each terminate or originate once more); HAProxy's is the client straight to the pod's TLS endpoint, so its p90 added counts HAProxy and the extra TLS leg.",
  "The caller: HAProxy terminates the client's own TLS (the client pays its handshake and encryption); the waypoint gets the client pod's traffic from ztunnel A, which did the TLS for it.",
  "The principal: the waypoint takes it from the HBONE connection's peer certificate (the client pod's own, which ztunnel A presents for it); HAProxy 2.6 has no fetch for a certificate's SANs, so its ACL matches the URI SAN's DER bytes in the client certificate (the same decision, a cruder parse).",
  "The upstream's identity: the waypoint requires a SPIFFE ID of the mesh's trust domain in ztunnel B's certificate; HAProxy checks the pod endpoint's chain against the mesh root only (its verifyhost matches DNS names, and SPIFFE IDs are URI SANs). With one mesh CA the two accept the same certificates.",
  "Telemetry: the waypoint keeps Istio's request metrics (istio_requests_total, duration and size histograms with Istio's labels); HAProxy keeps its own counters, with no stats or Prometheus endpoint configured. Neither writes an access log.",
  'Configuration: the waypoint gets the HTTPRoute and AuthorizationPolicy from istiod over xDS and applies changes live; HAProxy reads the same rules as ACLs from a static file.',
  "The pod's TLS endpoint on HAProxy's side is a small Node.js process (mutual TLS 1.3 in, plain TCP to http-echo): the part ztunnel B plays for ours, without HBONE. Its CPU is counted on neither side, as ztunnel B's is not.",
  'Runtime: the waypoint is one Node.js process (JavaScript, one event loop, garbage collected, node:http and node:http2); HAProxy is C with OpenSSL, nbthread 1.',
];

/** Shares of the waypoint's CPU by kind of work, and what HAProxy does of each. */
const KIND_NOTES: Readonly<Record<string, string>> = {
  'HTTP/2': "node:http2's JavaScript side of the HBONE streams; HAProxy has none",
  TLS: 'both do TLS both ways; HAProxy in C straight on OpenSSL',
  'garbage collection': 'HAProxy has no garbage collector',
  'HTTP/1': "node:http's parser and writer; HAProxy's own parser",
  'sockets and listeners': 'Node streams over the sockets and tunnels',
  'the simulator (dist/src)': "routing, RBAC, Istio's metrics and the pipe between the legs",
  [NATIVE_KIND]: "TLS and sockets HAProxy does in C too, and nghttp2's HBONE framing, which it has no part of",
};
const TOP_KINDS = 6;
const TOP_OWN = 4;

/** When we are behind: by how much, and where the waypoint's CPU goes (a profile) that HAProxy does not spend. */
async function whyBehind(
  setup: L7PeerSetup,
  figures: readonly PeerFigure[],
  load: { body: Buffer; headers: Readonly<Record<string, string>>; rate: number },
): Promise<string | undefined> {
  const lagging = figures.filter((f) => f.ratio < 1);
  if (lagging.length === 0) return undefined;
  const gaps = lagging
    .map((f) => `${f.metric}: ${OURS} ${f.ours.toFixed(MS_DECIMALS)} against HAProxy's ${f.theirs.toFixed(MS_DECIMALS)} (${(1 / f.ratio).toFixed(1)}x)`)
    .join('; ');
  if (!setup.profile) return `${gaps}. No profile taken (no free address block given for it).`;
  let summary: ProfileSummary;
  try {
    summary = await profileWaypoint({
      block: setup.profile.block,
      seconds: setup.profile.seconds,
      rate: load.rate,
      connections: FIXED_RATE_CONNECTIONS,
      body: load.body,
      headers: load.headers,
      path: REQUEST_PATH,
      progress: setup.progress,
    });
  } catch (err) {
    return `${gaps}. The profile failed: ${(err as Error).message}`;
  }
  const cpu = figures.find((f) => f.metric === CPU_METRIC);
  return `${gaps}. ${profileText(summary, cpu)}`;
}

/** Two functions this close in inclusive time are one call chain: the inner one says more. */
const SAME_CHAIN = 0.95;

/** Named functions by inclusive time, each chain of wrappers (a loop's run, a turn) shown by its innermost function. */
export function distinctOwn(own: ProfileSummary['ownInclusive']): (readonly [string, number])[] {
  const kept: (readonly [string, number])[] = [];
  let chainTop = Infinity;
  for (const entry of own) {
    if (entry[0].startsWith('(anonymous)')) continue;
    if (kept.length > 0 && entry[1] >= chainTop * SAME_CHAIN) kept[kept.length - 1] = entry;
    else {
      kept.push(entry);
      chainTop = entry[1];
    }
  }
  return kept;
}

/** The profile as the report's sentence: the waypoint's CPU by kind of work, and its heaviest own functions. */
export function profileText(s: ProfileSummary, cpu?: PeerFigure): string {
  const pct = (ms: number) => `${((ms / Math.max(1, s.busyMs)) * 100).toFixed(0)}%`;
  const kinds = s.byKind
    .slice(0, TOP_KINDS)
    .map(([k, ms]) => `${k} ${pct(ms)}${KIND_NOTES[k] ? ` (${KIND_NOTES[k]})` : ''}`)
    .join(', ');
  const own = distinctOwn(s.ownInclusive)
    .slice(0, TOP_OWN)
    .map(([f, ms]) => `${f} ${pct(ms)}`)
    .join(', ');
  const text = `Profile of the ${OURS} under the same load (${s.busyMs.toFixed(0)} ms of CPU in ${(s.wallMs / 1000).toFixed(1)} s, profiler on), self time by kind: ${kinds}. Its heaviest own functions, callees included: ${own}.`;
  if (!cpu) return text;
  // The native share is the floor our design keeps (TLS both ways plus HBONE's HTTP/2) whatever the JavaScript costs.
  const native = (s.byKind.find(([k]) => k === NATIVE_KIND)?.[1] ?? 0) / Math.max(1, s.busyMs);
  const vcpu = (share: number) => (share * cpu.ours).toFixed(MS_DECIMALS);
  // vCPU per 1,000 rps is ms of CPU per request: x 1000 for µs.
  const gapUs = ((cpu.ours - cpu.theirs) * 1000).toFixed(0);
  return `${text} At ${cpu.ours.toFixed(MS_DECIMALS)} vCPU per 1,000 rps (${gapUs} µs of CPU a request more than HAProxy), the native code alone comes to ${vcpu(native)} and the JavaScript around it to ${vcpu(1 - native)}, against HAProxy's ${cpu.theirs.toFixed(MS_DECIMALS)} for its whole hop.`;
}
