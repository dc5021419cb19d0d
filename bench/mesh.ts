// The mesh every suite measures: the real processes of a two-node scenario, started by the
// runner's own Supervisor. A client pod on node A reaches, on node B, a TCP sink and an HTTP
// echo server; the same HTTP pods sit behind two Services, one plain (the L4 path) and one
// labelled istio.io/use-waypoint (the L7 path). Port captures on node A's address stand in for
// the client pod's redirected traffic, so the bench process is that pod's application.
//
//   client ─► capture ─► ztunnel-node-a ══HBONE══► ztunnel-node-b ─► sink | http-echo      (L4)
//   client ─► capture ─► ztunnel-node-a ══HBONE══► waypoint ══HBONE══► ztunnel-node-b ─► http-echo   (L7)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import { loadScenario } from '../src/mesh/load';
import { PORT_HBONE, PORT_METRICS } from '../src/mesh/ports';
import { loadOrCreateCa } from '../src/identity/ca-store';
import type { MeshCa } from '../src/identity/ca';
import { Supervisor } from '../src/runner/supervisor';
import { IstiodChannel } from '../src/runner/istiod-channel';
import type { SyncedMessage } from '../src/mesh/control-plane';
import type { Scenario } from '../src/mesh/model';
import { childSpecs } from '../src/runner/run';
import { parsePromText } from '../src/telemetry/prom-text';
import { TCP_CONNECTIONS_OPENED } from '../src/telemetry/tcp-metrics';
import { ENV_REQUEST_LINES } from '../src/telemetry/request-lines';

const CLI = path.resolve(__dirname, '..', 'src', 'cli', 'main.js');
const READY_TIMEOUT_MS = 20_000;
/** Set to a directory to have every mesh process write a .cpuprofile there when it exits. */
export const ENV_CPU_PROF = 'HBONE_BENCH_CPU_PROF';
const SINK_PORT = 9000;
const HTTP_PORT = 8080;

/** Process names, as the runner names them: what the report's per-process columns say. */
export const ROLES = {
  ztunnelA: 'ztunnel-node-a',
  ztunnelB: 'ztunnel-node-b',
  waypoint: 'waypoint',
  sink: 'sink',
  httpEcho: 'http-echo',
} as const;

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** Where the bench sends traffic, for block 10.<n> served at 127.<n>. */
export function benchAddresses(n: number) {
  const capture = `127.${n}.0.1`;
  return {
    /** The client pod's address: direct connections leave from here too, as the pod would. */
    client: `127.${n}.1.1`,
    direct: {
      sink: { host: `127.${n}.2.1`, port: SINK_PORT },
      http: { host: `127.${n}.2.2`, port: HTTP_PORT },
    },
    capture: {
      sink: { host: capture, port: 15101 },
      httpL4: { host: capture, port: 15102 },
      httpL7: { host: capture, port: 15103 },
    },
    metrics: { ztunnelB: { host: `127.${n}.0.2`, port: PORT_METRICS } },
    /** The :15008 listeners the hostile suite attacks, and the CONNECT authority each serves. */
    hbone: {
      ztunnelB: { host: `127.${n}.2.2`, port: PORT_HBONE, authority: `10.${n}.2.2:${HTTP_PORT}` },
      waypoint: { host: `127.${n}.3.1`, port: PORT_HBONE, authority: `10.${n}.8.3:${HTTP_PORT}` },
    },
  } as const;
}

/** A port capture of the client pod's beyond the scenario's own: listen there, tunnel to target (host:port). */
export interface ExtraCapture {
  readonly listen: Endpoint;
  readonly target: string;
}

/** The highest block a mesh may use (10.<n>, served at 127.<n>). */
const LAST_BLOCK_OCTET = 254;

/** The block of a suite's i-th extra mesh: the bench's own, then the ones beside it. */
export function neighbourBlock(block: number, i: number): number {
  return block + i <= LAST_BLOCK_OCTET ? block + i : block - i;
}

export function benchScenario(n: number, extra: readonly ExtraCapture[] = []): string {
  return `# hbone-sim bench mesh (bench/mesh.ts), block 10.${n}
name: bench
nodes:
  - { name: node-a, ip: 10.${n}.0.1 }
  - { name: node-b, ip: 10.${n}.0.2 }
workloads:
  - { name: client, namespace: bench, serviceAccount: client, node: node-a, ip: 10.${n}.1.1, labels: { app: client }, run: { app: sleep, port: 80 } }
  - { name: ${ROLES.sink}, namespace: bench, serviceAccount: sink, node: node-b, ip: 10.${n}.2.1, labels: { app: sink }, run: { app: sink, port: ${SINK_PORT} } }
  - { name: ${ROLES.httpEcho}, namespace: bench, serviceAccount: http-echo, node: node-b, ip: 10.${n}.2.2, labels: { app: http-echo }, run: { app: http-echo, port: ${HTTP_PORT} } }
  - { name: ${ROLES.waypoint}, namespace: bench, serviceAccount: waypoint, node: node-b, ip: 10.${n}.3.1, labels: { gateway.networking.k8s.io/gateway-name: waypoint }, run: { app: waypoint } }
services:
  - { name: sink, namespace: bench, vip: 10.${n}.8.1, selector: { app: sink }, ports: [ { name: tcp, port: ${SINK_PORT} } ] }
  - { name: http-l4, namespace: bench, vip: 10.${n}.8.2, selector: { app: http-echo }, ports: [ { name: http, port: ${HTTP_PORT} } ] }
  - { name: http-l7, namespace: bench, vip: 10.${n}.8.3, labels: { istio.io/use-waypoint: waypoint }, selector: { app: http-echo }, ports: [ { name: http, port: ${HTTP_PORT} } ] }
gateways:
  - apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: { name: waypoint, namespace: bench, labels: { istio.io/waypoint-for: service } }
    spec:
      gatewayClassName: istio-waypoint
      listeners: [ { name: mesh, port: 15008, protocol: HBONE } ]
captures:
  - { listen: 127.${n}.0.1:15101, source: client, target: sink:${SINK_PORT} }
  - { listen: 127.${n}.0.1:15102, source: client, target: http-l4:${HTTP_PORT} }
  - { listen: 127.${n}.0.1:15103, source: client, target: http-l7:${HTTP_PORT} }
${extra.map((c) => `  - { listen: ${c.listen.host}:${c.listen.port}, source: client, target: ${c.target} }\n`).join('')}`;
}

export interface MeshOptions {
  /** Address block: the scenario's 10.<n>, served at 127.<n>. */
  readonly block: number;
  /** Start the ztunnels with --no-pool: every CONNECT on a TLS connection of its own. */
  readonly noPool?: boolean;
  /** Port captures added to the scenario's (the peers suite's, to its own sink). */
  readonly captures?: readonly ExtraCapture[];
  /** Every mesh process writes a .cpuprofile here when it exits (the default: $HBONE_BENCH_CPU_PROF). */
  readonly cpuProfileDir?: string;
  /** Worker threads of both ztunnels and the waypoint (their --workers); one process each by default. */
  readonly workers?: number;
}

/** A running bench mesh: its processes by name, and what the suites need from it. */
export class BenchMesh {
  private constructor(
    readonly addresses: ReturnType<typeof benchAddresses>,
    readonly ca: MeshCa,
    /** The mesh root's directory: other bench processes (the TLS receiver) trust the same root. */
    readonly caDir: string,
    private readonly supervisor: Supervisor,
    private readonly dir: string,
    /** The mesh's configuration as istiod started with it. */
    readonly scenario: Scenario,
  ) {
    this.istiod = new IstiodChannel(supervisor);
  }

  private readonly istiod: IstiodChannel;

  /** Hands istiod a new configuration, as the API server does; resolves once every proxy answered. */
  async pushConfig(next: Scenario): Promise<SyncedMessage> {
    const push = await this.istiod.push(next);
    return await push.synced;
  }

  /** How many processes the mesh runs (the bench's own not counted). */
  get processCount(): number {
    return this.supervisor.children.length;
  }

  static async start(options: MeshOptions): Promise<BenchMesh> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-bench-mesh-'));
    const file = path.join(dir, 'bench.yaml');
    fs.writeFileSync(file, benchScenario(options.block, options.captures));
    const scenario = loadScenario(file);
    const caDir = path.join(dir, 'certs');
    const ca = await loadOrCreateCa(caDir, scenario.trustDomain);
    // stdout carries the access logs: read and dropped, so a pipe never fills and stalls a child.
    const profileDir = options.cpuProfileDir ?? process.env[ENV_CPU_PROF];
    const env = {
      ...process.env,
      HBONE_LOG: process.env.HBONE_LOG ?? 'warn',
      // Nobody reads the proxies' trace records or access log here: the proxies are told so, as
      // the runner tells them when no expectation, trace --follow or live page reads them
      // (HBONE_REQUEST_LINES=trace,access-log measures them writing both).
      [ENV_REQUEST_LINES]: process.env[ENV_REQUEST_LINES] ?? 'none',
      NODE_OPTIONS: '',
    };
    const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir)}`] : [];
    // Children's logs are shown only when asked for (HBONE_LOG=info npm run bench ...).
    const showLogs = process.env.HBONE_LOG !== undefined;
    const supervisor = new Supervisor(
      CLI,
      env,
      () => undefined,
      (child, line) => {
        if (showLogs) process.stderr.write(`[${child}] ${line}\n`);
      },
      nodeArgs,
    );
    const mesh = new BenchMesh(benchAddresses(options.block), ca, caDir, supervisor, dir, scenario);
    // One process per pod: the suites read the CPU and RSS of the echo and sink apps themselves,
    // and compare with figures taken when every pod was a process.
    for (const spec of childSpecs(scenario, caDir, { podProcesses: true, workers: options.workers })) {
      const args = options.noPool && spec.args[0] === 'ztunnel' ? [...spec.args, '--no-pool'] : spec.args;
      supervisor.start({ ...spec, args });
    }
    try {
      await supervisor.waitReady(READY_TIMEOUT_MS);
    } catch (err) {
      await mesh.stop();
      throw err;
    }
    return mesh;
  }

  /** pid of each process, by the runner's name for it. */
  get pids(): ReadonlyMap<string, number> {
    return new Map(this.supervisor.children.map((c) => [c.spec.name, c.process.pid!]));
  }

  pid(name: string): number {
    const pid = this.pids.get(name);
    if (pid === undefined) throw new Error(`no process ${name} in the bench mesh`);
    return pid;
  }

  /** Whether every process is still running: a suite's figures mean nothing after a crash. */
  crashed(): string[] {
    return this.supervisor.children
      .filter((c) => c.process.exitCode !== null || c.process.signalCode !== null)
      .map((c) => `${c.spec.name}: ${c.tail.slice(-3).join(' | ')}`);
  }

  /** TCP connections ztunnel-node-b has accepted for its pods so far (istio_tcp_connections_opened_total, reporter destination). */
  async inboundConnectionsOpened(): Promise<number> {
    const { host, port } = this.addresses.metrics.ztunnelB;
    const text = await new Promise<string>((resolve, reject) => {
      http
        .get({ host, port, path: '/metrics', agent: false }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
    return parsePromText(text)
      .filter((s) => s.name === TCP_CONNECTIONS_OPENED && s.labels.reporter === 'destination')
      .reduce((sum, s) => sum + s.value, 0);
  }

  async stop(): Promise<void> {
    await this.supervisor.stopAll();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Synchronous last resort for 'exit' handlers: no child outlives the bench. */
  killNow(): void {
    for (const c of this.supervisor.children) if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill('SIGKILL');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
