// A proxy's ADS subscription to istiod (delta xDS): one stream for all its types; each response
// is applied whole or not at all. Applied: ACK (the nonce echoed). Refused by the type's handler:
// NACK (the nonce echoed with error_detail), and the proxy stays on its last good version, as
// Envoy and ztunnel do. A lost stream is reopened with back-off, telling istiod what it has.
import { EventEmitter } from 'node:events';
import type * as http2 from 'node:http2';
import { logger, Logger } from '../telemetry/log';
import { errorMessage } from '../error-message';
import { connectIstiod, IstiodEndpoint, bearer, HEADER_AUTHORIZATION } from './istiod-session';
import { readMessages, writeMessage } from './ndjson';
import {
  ADS_PATH,
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  GRPC_INVALID_ARGUMENT,
  TYPE_SHORT_NAMES,
  TypeUrl,
  XdsNode,
  XdsResource,
  isTypeUrl,
} from './types';

const RECONNECT_INITIAL_MS = 100;
const RECONNECT_MAX_MS = 5000;

/** What a proxy does with one type: validate and apply the whole new set, or throw to NACK. */
export interface TypeHandler {
  readonly typeUrl: TypeUrl;
  /**
   * Checks and applies a response (throws to NACK). A promise means "applied here, in effect
   * everywhere once it settles" (a proxy with worker threads hands it on): the ACK waits for it.
   */
  apply(resources: ReadonlyMap<string, XdsResource>, version: string): void | Promise<void>;
}

export interface AdsClientOptions {
  readonly endpoint: IstiodEndpoint;
  readonly node: XdsNode;
  readonly handlers: readonly TypeHandler[];
  readonly log?: Logger;
}

interface TypeState {
  readonly handler: TypeHandler;
  /** The last good set, by name. */
  have: Map<string, XdsResource>;
  /** The system version of the last applied response; undefined before the first. */
  version?: string;
}

export interface AdsClientEvents {
  /** A type's response was applied (ACKed). */
  applied: [TypeUrl, string];
  /** A type's response was refused (NACKed): the type, the refused version and why. */
  rejected: [TypeUrl, string, string];
}

export class AdsClient extends EventEmitter<AdsClientEvents> {
  private readonly types = new Map<TypeUrl, TypeState>();
  private readonly log: Logger;
  private session?: http2.ClientHttp2Session;
  private stream?: http2.ClientHttp2Stream;
  private retryMs = RECONNECT_INITIAL_MS;
  private retryTimer?: NodeJS.Timeout;
  private stopped = false;
  private readyResolve!: () => void;
  /** Resolves once every type has been applied at least once. */
  readonly ready = new Promise<void>((r) => (this.readyResolve = r));

  constructor(private readonly options: AdsClientOptions) {
    super();
    this.log = options.log ?? logger('xds::client');
    for (const h of options.handlers) this.types.set(h.typeUrl, { handler: h, have: new Map() });
  }

  start(): void {
    this.connect();
  }

  /** The version each type is on (undefined before its first response). */
  versionOf(typeUrl: TypeUrl): string | undefined {
    return this.types.get(typeUrl)?.version;
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.stream?.close();
    this.session?.destroy();
  }

  private connect(): void {
    if (this.stopped) return;
    const session = connectIstiod(this.options.endpoint);
    this.session = session;
    // Events of a session already replaced are old news.
    const lost = (why: string) => {
      if (this.session === session) this.lost(why);
    };
    session.on('error', (err) => lost(`istiod session: ${err.message}`));
    session.on('close', () => lost('istiod closed the session'));
    const stream = session.request(
      { ':method': 'POST', ':path': ADS_PATH, 'content-type': 'application/x-ndjson', [HEADER_AUTHORIZATION]: bearer(this.options.endpoint.token) },
      { endStream: false },
    );
    this.stream = stream;
    stream.on('response', (h) => {
      const status = Number(h[':status']);
      if (status !== 200) this.log.warn('istiod refused the ADS stream', { status });
      else this.retryMs = RECONNECT_INITIAL_MS;
    });
    stream.on('error', (err) => lost(`ADS stream: ${err.message}`));
    stream.on('close', () => lost('ADS stream closed'));
    readMessages(
      stream,
      (m) => this.onResponse(stream, m),
      (err) => {
        this.log.warn('bad message from istiod', { error: err.message });
        stream.close();
      },
    );
    let first = true;
    for (const [typeUrl, state] of this.types) {
      const initialResourceVersions = Object.fromEntries([...state.have].map(([name, r]) => [name, r.version]));
      const req: DeltaDiscoveryRequest = {
        ...(first ? { node: this.options.node } : {}),
        typeUrl,
        resourceNamesSubscribe: ['*'],
        initialResourceVersions,
      };
      first = false;
      writeMessage(stream, req);
    }
  }

  private lost(why: string): void {
    if (this.stopped || this.retryTimer) return;
    this.log.info('ADS connection lost; reconnecting', { reason: why, in_ms: this.retryMs });
    this.stream?.destroy();
    this.session?.destroy();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
  }

  private onResponse(stream: http2.ClientHttp2Stream, m: unknown): void {
    const r = m as Partial<DeltaDiscoveryResponse>;
    if (!isTypeUrl(r.typeUrl) || typeof r.nonce !== 'string' || typeof r.systemVersionInfo !== 'string') {
      this.log.warn('ignored a message from istiod that is not a DeltaDiscoveryResponse');
      return;
    }
    const state = this.types.get(r.typeUrl);
    if (!state) return;
    const next = new Map(state.have);
    for (const res of r.resources ?? []) next.set(res.name, res);
    for (const name of r.removedResources ?? []) next.delete(name);
    const type = TYPE_SHORT_NAMES[r.typeUrl];
    let settled: void | Promise<void>;
    try {
      settled = state.handler.apply(next, r.systemVersionInfo);
    } catch (err) {
      const message = errorMessage(err);
      this.log.warn('rejected a config update (NACK); keeping the last good version', {
        type,
        version: r.systemVersionInfo,
        kept: state.version,
        error: message,
      });
      writeMessage(stream, {
        typeUrl: r.typeUrl,
        responseNonce: r.nonce,
        errorDetail: { code: GRPC_INVALID_ARGUMENT, message },
      } satisfies DeltaDiscoveryRequest);
      this.emit('rejected', r.typeUrl, r.systemVersionInfo, message);
      return;
    }
    state.have = next;
    state.version = r.systemVersionInfo;
    const typeUrl = r.typeUrl;
    const nonce = r.nonce;
    const version = r.systemVersionInfo;
    const ack = (): void => {
      this.log.debug('applied a config update (ACK)', { type, version, resources: next.size });
      writeMessage(stream, { typeUrl, responseNonce: nonce } satisfies DeltaDiscoveryRequest);
      this.emit('applied', typeUrl, version);
      if ([...this.types.values()].every((s) => s.version !== undefined)) this.readyResolve();
    };
    if (!(settled instanceof Promise)) return ack();
    // The stream may have been replaced while the workers took the update: the new one resyncs.
    const ackIfCurrent = () => void (stream === this.stream && stream.writable && ack());
    settled.then(ackIfCurrent, ackIfCurrent);
  }
}
