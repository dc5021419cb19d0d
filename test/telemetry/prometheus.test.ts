// Real Prometheus against a held mesh (block 10.118): `x prometheus-config` writes the scrape
// configuration, Debian's prometheus scrapes istiod, both ztunnels and the waypoint every second
// while sleep sends traffic, and the queries of Istio's dashboards answer as they would in a
// cluster: request rate by destination service, the 4xx rate, TCP bytes by source and
// destination, reporter="waypoint". Every /metrics page passes `promtool check metrics`: it parses,
// and its lint finds nothing but three names istiod really exports as they are (ISTIO_LEGACY_NAMES).
// Skipped, with a message, where prometheus is not installed (.ci/run installs it).
import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as http from 'node:http';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { parse } from 'yaml';
import { killGroup, runCli, simWith, tempScenario } from '../runner/fixtures/cli';
import { heldMeshScenario } from '../runner/fixtures/held-mesh';
import type { PrometheusConfig } from '../../src/telemetry/prometheus-config';

const N = 118;
// Not 9090: a prometheus the Debian package started as a service may hold *:9090.
const PROMETHEUS_ADDRESS = `127.${N}.254.1:19090`;
const CAPTURE = `127.${N}.0.100`;

/**
 * Names istiod really exports that promtool's lint flags (a counter without _total, or with
 * _count): kept as Istio has them, so Istio's dashboards and alerts find them.
 */
const ISTIO_LEGACY_NAMES = ['citadel_server_csr_refused_count', 'citadel_server_success_cert_issuance_count', 'pilot_total_xds_rejects'];

const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

const DENY_SECRET = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: echo-deny-secret
  namespace: default
spec:
  targetRefs:
  - { kind: Service, group: "", name: echo }
  action: DENY
  rules:
  - to:
    - operation:
        paths: ["/secret"]
`;

function get(p: string): Promise<number> {
  return new Promise((resolve, reject) =>
    http
      .get({ host: CAPTURE, port: 8080, path: p, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject),
  );
}

function echoTcp(bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const socket = net.connect(9000, CAPTURE, () => socket.end(Buffer.alloc(bytes, 7)));
    socket.on('data', (c: Buffer) => (got += c.length));
    socket.on('end', () => resolve(got));
    socket.on('error', reject);
  });
}

/** An instant query's vector, as {labels, value}. */
async function query(expr: string): Promise<{ metric: Record<string, string>; value: number }[]> {
  const res = await fetch(`http://${PROMETHEUS_ADDRESS}/api/v1/query?${new URLSearchParams({ query: expr }).toString()}`);
  const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== 'success') throw new Error(`query ${expr}: ${JSON.stringify(body)}`);
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

t.test(
  'Prometheus scrapes the mesh and answers the queries of Istio’s dashboards',
  { skip: have('prometheus') ? false : 'prometheus is not installed (apt-get install prometheus)' },
  async (t) => {
    const tmp = tempScenario(heldMeshScenario('prom', N), 'prom');
    const env = { HBONE_SIM_HOME: path.join(tmp.dir, 'home') };
    t.teardown(() => tmp.cleanup());
    const up = runCli(['up', tmp.file, '--ca-dir', tmp.caDir], { env });
    t.teardown(() => killGroup(up.pid));
    await up.waitForOutput(/kubeconfig: /, 30_000);
    const sim = simWith(env);
    const policy = path.join(tmp.dir, 'deny.yaml');
    fs.writeFileSync(policy, DENY_SECRET);
    t.equal(sim('apply', '-f', policy, '--wait').code, 0);

    const written = sim('x', 'prometheus-config', '--interval', '1s');
    t.equal(written.code, 0, written.err);
    const config = parse(written.out) as PrometheusConfig;
    t.same(
      config.scrape_configs.map((j) => [j.job_name, j.metrics_path, j.static_configs.flatMap((c) => c.targets)]),
      [
        ['istiod', '/metrics', [`127.${N}.255.1:15014`]],
        ['ztunnel', '/metrics', [`127.${N}.0.1:15020`, `127.${N}.0.2:15020`]],
        ['envoy-stats', '/stats/prometheus', [`127.${N}.2.9:15020`]],
      ],
    );
    t.equal(config.global.scrape_interval, '1s');
    t.equal(sim('x', 'prometheus-config', '--interval', 'soon').code, 2, 'a bad interval is a usage error');

    // Every page Prometheus will scrape is valid exposition, by Prometheus's own linter.
    if (have('promtool')) {
      for (const job of config.scrape_configs) {
        for (const target of job.static_configs.flatMap((c) => c.targets)) {
          const page = await (await fetch(`http://${target}${job.metrics_path}`)).text();
          const lint = spawnSync('promtool', ['check', 'metrics'], { input: page, encoding: 'utf8' });
          const what = `promtool check metrics ${target}${job.metrics_path}`;
          // Exit 1 is a page Prometheus cannot parse; 3 is lint, allowed only for Istio's own names.
          t.not(lint.status, 1, `${what}: ${lint.stderr}`);
          const findings = `${lint.stdout}${lint.stderr}`.split('\n').filter((l) => l.trim() !== '');
          t.same(
            findings.filter((l) => !ISTIO_LEGACY_NAMES.some((n) => l.startsWith(`${n} `))),
            [],
            `${what}: nothing but Istio's own names`,
          );
        }
      }
    }

    const cfgFile = path.join(tmp.dir, 'prometheus.yml');
    fs.writeFileSync(cfgFile, written.out);
    const prometheus = spawn(
      'prometheus',
      [`--config.file=${cfgFile}`, `--storage.tsdb.path=${path.join(tmp.dir, 'tsdb')}`, `--web.listen-address=${PROMETHEUS_ADDRESS}`, '--log.level=warn'],
      { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    let promLog = '';
    prometheus.stderr!.setEncoding('utf8').on('data', (s: string) => (promLog = (promLog + s).slice(-4000)));
    t.teardown(() => killGroup(prometheus.pid!));
    const targets = await until('every target up', async () => {
      const upTargets = await query('up == 1');
      return upTargets.length === 4 ? upTargets : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}; prometheus said: ${promLog}`);
    });
    t.same(targets.map((r) => r.metric.job).sort(), ['envoy-stats', 'istiod', 'ztunnel', 'ztunnel']);

    // Traffic across several scrapes, so rates have two samples or more.
    let denied = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 10; i++) t.equal(await get(`/hello/${round}`), 200);
      denied += (await get('/secret')) === 403 ? 1 : 0;
      t.equal(await echoTcp(4096), 4096);
      await new Promise((r) => setTimeout(r, 700));
    }
    t.equal(denied, 5, 'the DENY answered 403 each round');

    // Istio's dashboards: requests per second by destination service, as the waypoint reports them.
    const byService = await until('a request rate', async () => {
      const r = await query('sum by (destination_service) (rate(istio_requests_total{reporter="waypoint"}[1m]))');
      return r.length > 0 && r[0].value > 0 ? r : undefined;
    });
    t.same(
      byService.map((r) => r.metric.destination_service),
      [`echo.default.svc.cluster.local`],
    );
    const fourxx = await until('a 4xx rate', async () => {
      const r = await query('sum(rate(istio_requests_total{reporter="waypoint",response_code=~"4.."}[1m]))');
      return r.length > 0 && r[0].value > 0 ? r : undefined;
    });
    t.ok(fourxx[0].value > 0, `4xx rate ${fourxx[0].value}/s`);
    // Once the last round has been scraped: every request counted once, by code.
    const byCode = async () => {
      const codes = await query('sum by (response_code) (istio_requests_total{reporter="waypoint"})');
      return Object.fromEntries(codes.map((r) => [r.metric.response_code, r.value]));
    };
    const counted = await until('the last round scraped', async () => {
      const c = await byCode();
      return (c['200'] ?? 0) + (c['403'] ?? 0) >= 55 ? c : undefined;
    }).catch(byCode);
    t.same(counted, { '200': 50, '403': 5 }, 'every request counted once, by code');

    // TCP bytes by source and destination, as ztunnel reports them.
    // Every echoed byte, once the last connection's close has been scraped.
    const tcp = await until('TCP bytes from sleep to tcp-echo', async () => {
      const r = await query('sum by (source_workload, destination_workload) (istio_tcp_sent_bytes_total{reporter="destination"})');
      const pair = r.find((x) => x.metric.destination_workload === 'tcp-echo');
      return pair && pair.value >= 5 * 4096 ? pair : undefined;
    });
    t.equal(tcp.metric.source_workload, 'sleep');
    t.equal(tcp.value, 5 * 4096, "bytes tcp-echo's side sent back, by source and destination workload");
    const reporters = await query('count by (reporter) (istio_requests_total)');
    t.same(
      reporters.map((r) => r.metric.reporter),
      ['waypoint'],
    );
  },
);
