// Abuse of HTTP/2 against the waypoint's :15008 (inbound_CONNECT_terminate), by an authenticated
// mesh peer, on the bench mesh's processes (bench/mesh.ts). Each case checks the protocol's
// answer, that the waypoint survived, that L7 requests through it kept working, and that its
// memory and file descriptors came back.
import t from 'tap';
import * as http from 'node:http';
import { startMesh, Mesh } from '../fixtures/scenario-mesh';
import { benchScenario, benchAddresses, ROLES } from '../../bench/mesh';
import { watch } from './fixtures/health';
import { loadOrCreateCa } from '../../src/identity/ca-store';
import { WorkloadCertificate } from '../../src/identity/workload-cert';
import { makeSpiffeId } from '../../src/identity/spiffe';
import { rapidReset } from '../../bench/attack/rapid-reset';
import {
  ErrorCode,
  Flag,
  FrameType,
  connectBlock,
  continuationFrame,
  errorName,
  headerBlock,
  headersFrame,
  responseStatus,
  rstStreamFrame,
} from '../../bench/attack/h2-wire';
import { rawH2, reconnectOutcome, RawH2 } from '../hbone/fixtures/raw-h2';

const N = 104;
const VICTIM = ROLES.waypoint;
const A = benchAddresses(N);
const WAYPOINT = A.hbone.waypoint;
let nextAttacker = 1;
const attackerAddress = (): string => `127.${N}.9.${nextAttacker++}`;

let mesh: Mesh;
let attacker: WorkloadCertificate;

t.before(async () => {
  mesh = await startMesh(benchScenario(N), 'h2-waypoint');
  attacker = await WorkloadCertificate.obtain(makeSpiffeId('bench', 'attacker'), await loadOrCreateCa(mesh.caDir));
});
t.teardown(async () => {
  attacker?.stop();
  await mesh?.stop();
});

/** Other traffic: an HTTP POST through the L7 capture, routed by the waypoint to http-echo. */
async function flowing(): Promise<void> {
  const body = await new Promise<string>((resolve, reject) => {
    const req = http.request({ ...A.capture.httpL7, method: 'POST', path: '/echo', headers: { host: 'http-l7' }, agent: false }, (res) => {
      let got = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (got += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(got) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end('through the waypoint');
  });
  if (!body.includes('through the waypoint')) throw new Error(`the echo answered ${JSON.stringify(body.slice(0, 80))}`);
}

async function settled(): Promise<RawH2> {
  const raw = await rawH2({ host: WAYPOINT.host, port: WAYPOINT.port, tls: attacker.tls, localAddress: attackerAddress() });
  await raw.next((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) !== 0);
  return raw;
}

async function statusOf(raw: RawH2, stream: number): Promise<number | string> {
  const f = await raw.next((x) => (x.type === FrameType.HEADERS || x.type === FrameType.RST_STREAM) && x.streamId === stream);
  if (f.type === FrameType.RST_STREAM) return `RST_STREAM ${errorName(f.payload.readUInt32BE(0))}`;
  return responseStatus(f.payload) ?? `HEADERS ${f.payload.toString('hex')}`;
}

t.test('rapid reset at the waypoint: GOAWAY ENHANCE_YOUR_CALM, no tunnel opened, the source refused before TLS', async (t) => {
  const victim = watch(mesh, VICTIM);
  const from = attackerAddress();
  const raw = await rawH2({ host: WAYPOINT.host, port: WAYPOINT.port, tls: attacker.tls, localAddress: from });
  const batch: Buffer[] = [];
  for (let i = 0, id = 1; i < 200; i++, id += 2) batch.push(headersFrame(id, connectBlock(WAYPOINT.authority)), rstStreamFrame(id, ErrorCode.CANCEL));
  raw.write(Buffer.concat(batch));
  const goaway = await raw.goaway();
  t.equal(goaway.code, ErrorCode.ENHANCE_YOUR_CALM, 'GOAWAY ENHANCE_YOUR_CALM');
  t.equal(goaway.debug, 'too_many_resets');
  t.notOk(
    raw.frames.some((f) => f.type === FrameType.HEADERS),
    'no stream was answered: none reached inbound_CONNECT_terminate',
  );
  await raw.closed;
  const again = await reconnectOutcome({ host: WAYPOINT.host, port: WAYPOINT.port, tls: attacker.tls, localAddress: from });
  t.not(again, 'handshake completed', `the same source reconnecting is refused at accept (${again})`);
  await victim.check(t, flowing);
});

t.test('rapid reset at the waypoint, sustained: two seconds of the bench attacker', async (t) => {
  const victim = watch(mesh, VICTIM);
  let served = 0;
  let failed = 0;
  let attacking = true;
  const others = (async () => {
    while (attacking)
      await flowing().then(
        () => served++,
        () => failed++,
      );
  })();
  const result = await rapidReset({
    host: WAYPOINT.host,
    port: WAYPOINT.port,
    tls: attacker.tls,
    authority: WAYPOINT.authority,
    connections: 4,
    durationMs: 2000,
  });
  attacking = false;
  await others;
  t.same(Object.keys(result.goaways), ['ENHANCE_YOUR_CALM'], `every connection it got (${result.connections}) was answered GOAWAY ENHANCE_YOUR_CALM`);
  t.ok(result.failures > 0, `its reconnects were refused (${result.failures})`);
  t.ok(served > 0 && failed === 0, `L7 requests kept working during the attack (${served} served, ${failed} failed)`);
  await victim.check(t, flowing);
});

t.test('the waypoint answers what it does not serve: 503 for an unknown authority, 400 for other methods', async (t) => {
  const victim = watch(mesh, VICTIM);
  // A connection per question: later answers would name the first one's :status by HPACK
  // dynamic table index, which the test's tiny decoder does not keep.
  const ask = async (block: Buffer, flags: number = Flag.END_HEADERS): Promise<number | string> => {
    const raw = await settled();
    raw.write(headersFrame(1, block, flags));
    const status = await statusOf(raw, 1);
    raw.close();
    return status;
  };
  t.equal(await ask(connectBlock(`10.${N}.8.99:8080`)), 503, 'a VIP it does not serve: 503');
  t.equal(await ask(connectBlock(`10.${N}.8.3:9999`)), 503, 'a port the service does not have: 503');
  t.equal(
    await ask(
      headerBlock([
        [':method', 'GET'],
        [':scheme', 'https'],
        [':path', '/'],
        [':authority', WAYPOINT.authority],
      ]),
      Flag.END_HEADERS | Flag.END_STREAM,
    ),
    400,
    'GET: 400',
  );
  await victim.check(t, flowing);
});

t.test('CONTINUATION flood at the waypoint: GOAWAY and a close', async (t) => {
  const victim = watch(mesh, VICTIM);
  const raw = await settled();
  raw.write(headersFrame(1, connectBlock(WAYPOINT.authority), 0));
  const more = continuationFrame(1, headerBlock([['x-flood', 'a'.repeat(64)]]), false);
  raw.write(Buffer.concat(Array.from({ length: 5000 }, () => more)));
  const goaway = await raw.next((f) => f.type === FrameType.GOAWAY);
  t.equal(goaway.payload.readUInt32BE(4), ErrorCode.INTERNAL_ERROR, 'GOAWAY');
  await raw.closed;
  await victim.check(t, flowing);
});
