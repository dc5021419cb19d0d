// Runs a scenario's `expect:` checks from inside the mesh and explains each one hop by hop,
// from what the ztunnels logged about it.
import type { Expectation, Scenario, Workload } from '../mesh/model';
import { spiffeIdOf } from '../mesh/model';
import { PORT_SOCKS5 } from '../mesh/ports';
import { execInPod, ExecResult } from './exec';
import { AccessRecord, AccessRecords, field } from './access-records';

const LOG_WAIT_MS = 1500;

export interface Hop {
  readonly text: string;
}

export interface ExpectationResult {
  readonly expectation: Expectation;
  readonly ok: boolean;
  readonly got: string;
  readonly timeMs: number;
  readonly hops: string[];
  readonly error?: string;
}

export async function runExpectation(scenario: Scenario, records: AccessRecords, e: Expectation): Promise<ExpectationResult> {
  const pod = scenario.workloads.find((w) => w.name === e.from)!;
  const started = performance.now();
  const isUrl = /^https?:\/\//.test(e.to);
  let result: ExecResult;
  try {
    result = isUrl ? await execInPod(pod.ip, '/fetch', { url: e.to }) : await execInPod(pod.ip, '/tcp', { target: e.to, send: 'hello, mesh' });
  } catch (err) {
    return { expectation: e, ok: false, got: 'exec failed', timeMs: performance.now() - started, hops: [], error: (err as Error).message };
  }
  const denied = isUrl ? result.status === 0 && !!result.error : !!result.error;
  const got = denied ? 'denied' : isUrl ? String(result.status) : 'connected';
  const ok = e.outcome === 'denied' ? denied : e.outcome === 'connected' ? !result.error : result.status === e.outcome;
  const identity = spiffeIdOf(pod, scenario.trustDomain);
  // The outbound record of this pod and, unless it was refused at the source, the inbound one.
  const found = await records.waitFor(
    started,
    (rs) => rs.some((r) => isOutboundOf(r, pod)) && (denied || rs.some((r) => isInboundFrom(r, identity))),
    LOG_WAIT_MS,
  );
  const out = found.find((r) => isOutboundOf(r, pod));
  const inb = found.find((r) => isInboundFrom(r, identity) && (!out || field(r, 'dst.addr') === field(out, 'dst.addr')));
  return { expectation: e, ok, got, timeMs: result.timeMs ?? performance.now() - started, hops: hopsOf(scenario, pod, out, inb), error: result.error };
}

function isOutboundOf(r: AccessRecord, pod: Workload): boolean {
  return field(r, 'direction') === 'outbound' && field(r, 'src.workload') === pod.name;
}

function isInboundFrom(r: AccessRecord, identity: string): boolean {
  return field(r, 'direction') === 'inbound' && field(r, 'src.identity') === identity;
}

function hopsOf(scenario: Scenario, pod: Workload, out: AccessRecord | undefined, inb: AccessRecord | undefined): string[] {
  const hops: string[] = [];
  hops.push(`${pod.name} (${field(out, 'src.addr') || pod.ip}) → capture ${pod.ip}:${PORT_SOCKS5} on ${out?.reporter ?? `ztunnel-${pod.node}`}`);
  if (!out) return [...hops, '(no access log from the source ztunnel)'];
  if (!field(out, 'dst.hbone_addr')) {
    hops.push(`${out.reporter} passes ${field(out, 'dst.addr')} through as plain TCP (outside the mesh)${errorNote(out)}`);
    return hops;
  }
  // ztunnel's log: dst.addr is the HBONE side (pod:15008), dst.hbone_addr the :authority.
  hops.push(`${out.reporter} ⇒ HBONE CONNECT :authority ${field(out, 'dst.hbone_addr')} to ${field(out, 'dst.addr')}`);
  hops.push(`    mTLS ${field(out, 'src.identity')} → ${field(out, 'dst.identity')}${field(out, 'dst.service') ? `  (service ${field(out, 'dst.service')})` : ''}`);
  const dstPod = scenario.workloads.find((w) => w.name === field(out, 'dst.workload'));
  if (inb) {
    const where = `${inb.reporter} inbound${dstPod ? ` on ${dstPod.node}` : ''}`;
    if (field(inb, 'error')) hops.push(`${where}: refused ${field(inb, 'error')}`);
    else hops.push(`${where}: ${field(inb, 'policy') ? `allowed by ${field(inb, 'policy')}` : 'no policy applies'} → ${field(inb, 'dst.workload')} ${field(inb, 'dst.hbone_addr')}`);
  } else {
    hops.push(`(no inbound record${errorNote(out)})`);
  }
  return hops;
}

function errorNote(r: AccessRecord): string {
  const e = field(r, 'error');
  return e ? `; error: ${e}` : '';
}
