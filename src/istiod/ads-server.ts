// istiod's side of delta ADS: one stream per proxy, and for each type the proxy subscribed to,
// what it has ACKed, what is in flight (one response per type at a time), and its last NACK.
// A push sends each proxy only what changed against what it ACKed; a NACKed version is not
// sent again (as istiod does), only the next change is. proxy-status reads the same state.
import type { ServerHttp2Stream } from 'node:http2';
import { Logger } from '../telemetry/log';
import { readMessages, writeMessage } from '../xds/ndjson';
import { DeltaDiscoveryRequest, DeltaDiscoveryResponse, ErrorDetail, TYPE_SHORT_NAMES, TypeUrl, XdsNode, XdsResource, isTypeUrl } from '../xds/types';
import type { Snapshot } from './resources';
import type { Caller } from './authenticate';

/** A proxy's subscription to one type. */
interface Subscription {
  /** name -> version the proxy has, as of its last ACK (or what it said it had on connecting). */
  acked: Map<string, string>;
  ackedVersion?: string;
  inFlight?: { readonly nonce: string; readonly version: string; readonly result: Map<string, string>; readonly sentAt: number };
  lastSent?: { readonly version: string; readonly nonce: string; readonly at: number };
  nack?: { readonly version: string; readonly message: string; readonly at: number };
  /** The version the proxy NACKed, not to be sent again. */
  refusedVersion?: string;
  /** A push arrived while a response was in flight: send once it is answered. */
  dirty: boolean;
}

export interface ProxyConnection {
  readonly id: string;
  readonly caller: Caller;
  readonly node: XdsNode;
  readonly connectedAt: number;
  readonly subscriptions: ReadonlyMap<TypeUrl, Readonly<Subscription>>;
}

interface LiveConnection {
  readonly id: string;
  readonly caller: Caller;
  readonly node: XdsNode;
  readonly connectedAt: number;
  readonly subscriptions: Map<TypeUrl, Subscription>;
}

/** One row of istiod's syncz: a proxy and, per type, SYNCED, NOT SENT or STALE. */
export interface SyncStatus {
  readonly proxy: string;
  readonly proxyType: string;
  readonly types: Record<string, { status: 'SYNCED' | 'NOT SENT' | 'STALE'; sent?: string; acked?: string; nack?: string; nackVersion?: string }>;
}

export interface AdsServerEvents {
  /** A proxy answered a response (ACK or NACK), or a proxy went away. */
  onAnswer?(): void;
}

/** Who has answered a push: every subscription with nothing in flight. */
export interface PushOutcome {
  readonly settled: boolean;
  readonly acked: string[];
  readonly nacked: { proxy: string; type: string; message: string }[];
}

export class AdsServer {
  private readonly connections = new Map<ServerHttp2Stream, LiveConnection>();
  private snapshot: Snapshot = new Map();
  private version = '';
  private nonceCounter = 0;
  private readonly rejectCounts = new Map<TypeUrl, number>();

  constructor(
    private readonly log: Logger,
    private readonly events: AdsServerEvents = {},
  ) {}

  get currentVersion(): string {
    return this.version;
  }

  /** NACKs received of a type since start (pilot_total_xds_rejects). */
  rejects(typeUrl: TypeUrl): number {
    return this.rejectCounts.get(typeUrl) ?? 0;
  }

  get proxies(): ProxyConnection[] {
    return [...this.connections.values()];
  }

  /** New configuration: every connected proxy gets what changed for it. */
  push(snapshot: Snapshot, version: string): void {
    this.snapshot = snapshot;
    this.version = version;
    for (const [stream, conn] of this.connections) for (const typeUrl of conn.subscriptions.keys()) this.send(stream, conn, typeUrl);
  }

  /** A proxy's ADS stream, its caller already authenticated. */
  accept(stream: ServerHttp2Stream, caller: Caller): void {
    stream.respond({ ':status': 200, 'content-type': 'application/x-ndjson' });
    let conn: LiveConnection | undefined;
    const fields = { peer: caller.description };
    readMessages(
      stream,
      (m) => {
        const req = m as Partial<DeltaDiscoveryRequest>;
        if (!isTypeUrl(req.typeUrl)) {
          this.log.warn('ADS request for an unknown type; closing the stream', { ...fields, type: String(req.typeUrl) });
          return stream.close();
        }
        if (!conn) {
          const node = req.node;
          if (!node || typeof node.id !== 'string') {
            this.log.warn('first ADS request carries no node; closing the stream', fields);
            return stream.close();
          }
          conn = { id: node.id, caller, node, connectedAt: Date.now(), subscriptions: new Map() };
          this.connections.set(stream, conn);
          this.log.info('ADS: new connection', { ...fields, proxy: node.id });
        }
        this.onRequest(stream, conn, req.typeUrl, req);
      },
      (err) => {
        this.log.warn('bad ADS message; closing the stream', { ...fields, error: err.message });
        stream.close();
      },
    );
    stream.on('error', () => undefined);
    stream.on('close', () => {
      if (!conn) return;
      this.connections.delete(stream);
      this.log.info('ADS: connection closed', { ...fields, proxy: conn.id });
      this.events.onAnswer?.();
    });
    // A proxy that stopped reading gets its next push once it reads again.
    stream.on('drain', () => {
      if (conn) for (const typeUrl of conn.subscriptions.keys()) this.send(stream, conn, typeUrl);
    });
  }

  /** Whether every connected proxy has answered `version` of each type it was sent, and how. */
  outcome(version: string): PushOutcome {
    const acked: string[] = [];
    const nacked: PushOutcome['nacked'] = [];
    let settled = true;
    for (const c of this.connections.values()) {
      let ok = true;
      for (const [typeUrl, s] of c.subscriptions) {
        if (s.inFlight || s.dirty) settled = ok = false;
        else if (s.nack?.version === version) {
          ok = false;
          nacked.push({ proxy: c.id, type: TYPE_SHORT_NAMES[typeUrl], message: s.nack.message });
        }
      }
      if (ok) acked.push(c.id);
    }
    return { settled, acked, nacked };
  }

  /** Per proxy and type: SYNCED (the last response ACKed), NOT SENT, or STALE (in flight, or NACKed). */
  syncStatus(): SyncStatus[] {
    return this.proxies.map((c) => ({
      proxy: c.id,
      proxyType: c.node.proxyType,
      types: Object.fromEntries(
        [...c.subscriptions].map(([typeUrl, s]) => [
          TYPE_SHORT_NAMES[typeUrl],
          {
            status: !s.lastSent ? 'NOT SENT' : s.inFlight || s.nack?.version === s.lastSent.version ? 'STALE' : 'SYNCED',
            sent: s.lastSent?.version,
            acked: s.ackedVersion,
            ...(s.nack ? { nack: s.nack.message, nackVersion: s.nack.version } : {}),
          },
        ]),
      ),
    }));
  }

  private onRequest(stream: ServerHttp2Stream, conn: LiveConnection, typeUrl: TypeUrl, req: Partial<DeltaDiscoveryRequest>): void {
    const type = TYPE_SHORT_NAMES[typeUrl];
    let sub = conn.subscriptions.get(typeUrl);
    if (req.responseNonce === undefined) {
      // A new subscription: start from what the proxy says it has.
      const initial = new Map(Object.entries(req.initialResourceVersions ?? {}).filter(([, v]) => typeof v === 'string'));
      sub = { acked: initial, dirty: false };
      conn.subscriptions.set(typeUrl, sub);
      this.send(stream, conn, typeUrl);
      return;
    }
    if (!sub || !sub.inFlight || req.responseNonce !== sub.inFlight.nonce) {
      // xDS: an answer to a nonce that is not the latest is stale; ignore it.
      this.log.debug('ignored a stale ACK/NACK', { proxy: conn.id, type, nonce: String(req.responseNonce) });
      return;
    }
    const flight = sub.inFlight;
    sub.inFlight = undefined;
    if (req.errorDetail) {
      const detail = req.errorDetail as Partial<ErrorDetail>;
      const message = typeof detail.message === 'string' ? detail.message : 'no message';
      sub.nack = { version: flight.version, message, at: Date.now() };
      sub.refusedVersion = flight.version;
      this.rejectCounts.set(typeUrl, this.rejects(typeUrl) + 1);
      this.log.warn('ADS: proxy rejected a push (NACK)', { proxy: conn.id, type, version: flight.version, nonce: flight.nonce, error: message });
    } else {
      sub.acked = flight.result;
      sub.ackedVersion = flight.version;
      sub.nack = undefined;
      this.log.debug('ADS: ACK', { proxy: conn.id, type, version: flight.version, nonce: flight.nonce });
    }
    if (sub.dirty) this.send(stream, conn, typeUrl);
    this.events.onAnswer?.();
  }

  /** Sends what changed of a type since the proxy's last ACK, unless a response is in flight. */
  private send(stream: ServerHttp2Stream, conn: LiveConnection, typeUrl: TypeUrl): void {
    const sub = conn.subscriptions.get(typeUrl)!;
    if (sub.inFlight || stream.writableNeedDrain) {
      sub.dirty = true;
      return;
    }
    sub.dirty = false;
    if (!this.version || sub.refusedVersion === this.version) return;
    const want = this.snapshot.get(typeUrl) ?? new Map<string, XdsResource>();
    const changed = [...want.values()].filter((r) => sub.acked.get(r.name) !== r.version);
    const removed = [...sub.acked.keys()].filter((name) => !want.has(name));
    // Sent even when empty: the first response of a subscription (it tells the proxy it is
    // current), and after a NACK (the proxy is back on what istiod wants, under a new version).
    if (changed.length === 0 && removed.length === 0 && sub.lastSent && !sub.nack) return;
    const nonce = `${this.version}-${++this.nonceCounter}`;
    const response: DeltaDiscoveryResponse = { typeUrl, systemVersionInfo: this.version, nonce, resources: changed, removedResources: removed };
    sub.inFlight = { nonce, version: this.version, result: new Map([...want.values()].map((r) => [r.name, r.version])), sentAt: Date.now() };
    sub.lastSent = { version: this.version, nonce, at: Date.now() };
    writeMessage(stream, response);
    this.log.debug('ADS: push', { proxy: conn.id, type: TYPE_SHORT_NAMES[typeUrl], version: this.version, resources: changed.length, removed: removed.length });
  }
}
