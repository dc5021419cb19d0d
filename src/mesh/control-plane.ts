// Where the control plane runs. A scenario's istiod sits on the cluster address 10.a.255.1 of
// its first node's block 10.a (the node's own 10.a.b.c stays the node's): every scenario, and
// every test's block, gets its own istiod, and nothing else in a scenario may use that address.
import * as fs from 'node:fs';
import type { Scenario } from './model';
import { hostAddress } from './model';
import { PORT_ISTIOD_XDS } from './ports';

export const ISTIOD_NAME = 'istiod';
/** The control plane's namespace, and ztunnel's own service account there: what it authenticates to istiod as. */
export const ISTIO_SYSTEM = 'istio-system';
export const ZTUNNEL_NAMESPACE = ISTIO_SYSTEM;
export const ZTUNNEL_SERVICE_ACCOUNT = 'ztunnel';
const ISTIOD_HOST_PART = '255.1';

/** istiod's cluster address, e.g. 10.1.255.1 for nodes in 10.1.x.y. */
export function istiodIp(s: Pick<Scenario, 'nodes'>): string {
  const first = s.nodes[0]?.ip ?? '10.0.0.1';
  const [a, b] = first.split('.');
  return `${a}.${b}.${ISTIOD_HOST_PART}`;
}

/** host:port of istiod's :15012, on this machine. */
export function istiodXdsAddress(s: Pick<Scenario, 'nodes'>): string {
  return `${hostAddress(istiodIp(s))}:${PORT_ISTIOD_XDS}`;
}

/**
 * The API server (the runner) hands istiod the new configuration over the IPC channel, as
 * istiod would watch the Kubernetes API. istiod answers with the push's version at once, then
 * once every connected proxy has answered it (ACK or NACK).
 */
export interface ConfigMessage {
  readonly kind: 'hbone-sim/config';
  readonly id: number;
  readonly scenario: Scenario;
}

export interface PushedMessage {
  readonly kind: 'hbone-sim/pushed';
  readonly id: number;
  readonly version: string;
}

export interface SyncedMessage {
  readonly kind: 'hbone-sim/synced';
  readonly id: number;
  readonly version: string;
  /** From the push to the last proxy's answer. */
  readonly ms: number;
  /** Proxies that ACKed it, and those that NACKed it with their reason. */
  readonly acked: readonly string[];
  readonly nacked: readonly { readonly proxy: string; readonly type: string; readonly message: string }[];
  /** Set when some proxy had not answered by the deadline. */
  readonly timedOut?: boolean;
}

export function isConfigMessage(m: unknown): m is ConfigMessage {
  return typeof m === 'object' && m !== null && (m as { kind?: unknown }).kind === 'hbone-sim/config';
}

/**
 * The configuration the API server holds, on disk for istiod: written (owner-only, whole, then
 * renamed) before each push, read by istiod when it starts, so an istiod that crashed and was
 * restarted serves what was applied, not the scenario file it was started with.
 */
export function writeLiveConfig(file: string, scenario: Scenario): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(scenario), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** The live configuration if the API server wrote one, else undefined. */
export function readLiveConfig(file: string): Scenario | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Scenario;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the live configuration ${file}: ${(err as Error).message}`, { cause: err });
  }
}
