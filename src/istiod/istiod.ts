// istiod: the control plane. It alone holds the mesh root's key. On :15012 (TLS 1.3, HTTP/2) it
// serves delta ADS to every ztunnel and waypoint and its CA's CreateCertificate; on :15014 its
// debug pages (/debug/syncz, /debug/config_dump) and metrics; readiness on :15021.
import * as http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { MeshCa } from '../identity/ca';
import { createCsr, verifyCsr } from '../identity/csr';
import { formatSpiffeId, makeSpiffeId } from '../identity/spiffe';
import { ALPN_H2, TLS_VERSION } from '../hbone/constants';
import type { Scenario } from '../mesh/model';
import { hostAddress } from '../mesh/model';
import { MeshState } from '../mesh/state';
import { istiodIp } from '../mesh/control-plane';
import { PORT_ISTIOD_MONITORING, PORT_ISTIOD_XDS, PORT_READINESS } from '../mesh/ports';
import { AdminServer, readinessRoutes, sendJson, startHttp } from '../admin/http';
import { listen } from '../net/listen';
import { logger, Logger } from '../telemetry/log';
import { errorMessage } from '../error-message';
import {
  ADS_PATH,
  CSR_PATH,
  GRPC_INVALID_ARGUMENT,
  GRPC_PERMISSION_DENIED,
  GRPC_UNAUTHENTICATED,
  ISTIOD_SERVER_NAME,
  TYPE_SHORT_NAMES,
  TypeUrl,
} from '../xds/types';
import { AdsServer } from './ads-server';
import { CaService, CsrRefused } from './ca-service';
import { authenticate, Caller } from './authenticate';
import { buildSnapshot, Snapshot } from './resources';

/** istiod's own identity, and its serving certificate's lifetime (renewed by restarting). */
export const ISTIOD_SERVICE_ACCOUNT = 'istiod';
const SERVING_CERT_LIFETIME_MS = 365 * 24 * 3600 * 1000;
/** How long apply --wait waits for every proxy to answer a push. */
export const SYNC_WAIT_MS = 10_000;
const MAX_WAITERS = 64;

export interface SyncOutcome {
  readonly version: string;
  readonly ms: number;
  readonly acked: readonly string[];
  readonly nacked: readonly { readonly proxy: string; readonly type: string; readonly message: string }[];
  readonly timedOut?: boolean;
}

/** A CSR request body is one CSR: a few hundred bytes. */
const MAX_CSR_BODY_BYTES = 64 * 1024;
/** Sessions at once: every proxy holds one; a CSR opens one for a moment. */
const MAX_SESSIONS = 512;

export interface IstiodOptions {
  readonly scenario: Scenario;
  readonly ca: MeshCa;
  /** The key the API server signs service account tokens with (HBONE_TOKEN_KEY). */
  readonly tokenKey: string;
  readonly log?: Logger;
}

export class Istiod {
  private readonly log: Logger;
  private readonly ads: AdsServer;
  private readonly caService: CaService;
  private scenario: Scenario;
  private state: MeshState;
  private snapshot: Snapshot = new Map();
  private pushes = 0;
  private server?: http2.Http2SecureServer;
  private readonly admin: AdminServer[] = [];
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  /** Pushes someone waits on (apply --wait): bounded, the oldest is answered first when full. */
  private readonly waiters: { version: string; started: number; resolve: (o: SyncOutcome) => void; timer: NodeJS.Timeout }[] = [];
  private ready = false;

  constructor(private readonly options: IstiodOptions) {
    this.log = options.log ?? logger('istiod');
    this.scenario = options.scenario;
    this.state = new MeshState(options.scenario);
    this.ads = new AdsServer(logger('ads'), { onAnswer: () => this.checkWaiters() });
    this.caService = new CaService(options.ca, () => this.state, logger('ca'));
  }

  get address(): string {
    return hostAddress(istiodIp(this.scenario));
  }

  get version(): string {
    return this.ads.currentVersion;
  }

  async start(): Promise<void> {
    const host = this.address;
    this.admin.push(
      await startHttp(
        host,
        PORT_READINESS,
        readinessRoutes(() => this.ready),
      ),
    );
    const serving = await this.servingCertificate();
    const server = http2.createSecureServer({
      cert: serving.cert,
      key: serving.key,
      ca: this.options.ca.rootPem,
      // Proxies bootstrap with their token alone; authenticate() checks any certificate presented.
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: TLS_VERSION,
      maxVersion: TLS_VERSION,
      ALPNProtocols: [ALPN_H2],
      maxSessionMemory: 16,
    });
    server.maxConnections = MAX_SESSIONS;
    server.on('stream', (stream, headers) => this.onStream(stream, headers));
    server.on('session', (session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
    server.on('sessionError', () => undefined);
    server.on('tlsClientError', (err) => this.log.debug('TLS handshake failed', { error: err.message }));
    await listen(server as unknown as import('node:net').Server, host, PORT_ISTIOD_XDS);
    this.server = server;
    this.admin.push(
      await startHttp(host, PORT_ISTIOD_MONITORING, {
        '/debug/syncz': (_req, res) => sendJson(res, this.ads.syncStatus()),
        '/debug/config_dump': (_req, res) => sendJson(res, this.configDump()),
        '/metrics': (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(this.metricsText());
        },
      }),
    );
    this.setConfig(this.scenario);
    this.ready = true;
    this.log.info('ready', {
      xds: `${istiodIp(this.scenario)}:${PORT_ISTIOD_XDS}`,
      debug: `${istiodIp(this.scenario)}:${PORT_ISTIOD_MONITORING}`,
      version: this.version,
    });
  }

  /** New mesh configuration: a new push version, sent to every proxy. */
  setConfig(scenario: Scenario): void {
    this.scenario = scenario;
    this.state = new MeshState(scenario);
    this.snapshot = buildSnapshot(scenario);
    this.pushes++;
    const version = `${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}/${this.pushes}`;
    this.ads.push(this.snapshot, version);
    this.log.info('push', { version, proxies: this.ads.proxies.length });
  }

  /**
   * Pushes `scenario` and resolves once every connected proxy has answered it (ACK or NACK),
   * or at the deadline with `timedOut`.
   */
  pushAndWait(scenario: Scenario, timeoutMs = SYNC_WAIT_MS): { version: string; synced: Promise<SyncOutcome> } {
    this.setConfig(scenario);
    const version = this.version;
    const started = performance.now();
    const synced = new Promise<SyncOutcome>((resolve) => {
      if (this.waiters.length >= MAX_WAITERS) this.settle(this.waiters[0], true);
      const waiter = { version, started, resolve, timer: setTimeout(() => this.settle(waiter, true), timeoutMs) };
      this.waiters.push(waiter);
      this.checkWaiters();
    });
    return { version, synced };
  }

  private checkWaiters(): void {
    for (const w of [...this.waiters]) if (this.ads.outcome(w.version).settled) this.settle(w, false);
  }

  private settle(w: Istiod['waiters'][number], timedOut: boolean): void {
    const i = this.waiters.indexOf(w);
    if (i < 0) return;
    this.waiters.splice(i, 1);
    clearTimeout(w.timer);
    const o = this.ads.outcome(w.version);
    w.resolve({ version: w.version, ms: performance.now() - w.started, acked: o.acked, nacked: o.nacked, ...(timedOut ? { timedOut } : {}) });
  }

  async stop(): Promise<void> {
    for (const w of [...this.waiters]) this.settle(w, true);
    this.ready = false;
    const server = this.server;
    await Promise.all([
      server
        ? new Promise<void>((r) => {
            server.close(() => r());
            // Proxies hold their ADS sessions open: end them so close() can finish.
            for (const s of this.sessions) s.destroy();
          })
        : undefined,
      ...this.admin.map((a) => a.close()),
    ]);
  }

  private async servingCertificate(): Promise<{ cert: string; key: string }> {
    const id = makeSpiffeId('istio-system', ISTIOD_SERVICE_ACCOUNT, this.options.ca.trustDomain);
    const csr = await createCsr(formatSpiffeId(id));
    const issued = await this.options.ca.issue(id, (await verifyCsr(csr.csrPem)).publicKeyPem, {
      lifetimeMs: SERVING_CERT_LIFETIME_MS,
      dnsNames: [ISTIOD_SERVER_NAME],
    });
    return { cert: issued.chainPem, key: csr.privateKeyPem };
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', () => undefined);
    const path = headers[':path'];
    let caller: Caller;
    try {
      caller = authenticate(headers, stream.session!.socket as TLSSocket, this.options.tokenKey, this.scenario.trustDomain);
    } catch (err) {
      this.log.warn('request refused: unauthenticated', { path: String(path), reason: errorMessage(err) });
      return reply(stream, 401, { code: GRPC_UNAUTHENTICATED, message: errorMessage(err) });
    }
    if (headers[':method'] !== 'POST') return reply(stream, 405, { code: GRPC_INVALID_ARGUMENT, message: 'POST only' });
    if (path === ADS_PATH) {
      if (!caller.mutualTls) return reply(stream, 403, { code: GRPC_PERMISSION_DENIED, message: 'ADS needs mutual TLS: present your own certificate' });
      return this.ads.accept(stream, caller);
    }
    if (path === CSR_PATH) return void this.onCsr(stream, caller);
    reply(stream, 404, { code: 12, message: `no method ${String(path)}` });
  }

  private async onCsr(stream: http2.ServerHttp2Stream, caller: Caller): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_CSR_BODY_BYTES) return reply(stream, 400, { code: GRPC_INVALID_ARGUMENT, message: `request over ${MAX_CSR_BODY_BYTES} bytes` });
      chunks.push(chunk);
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return reply(stream, 400, { code: GRPC_INVALID_ARGUMENT, message: 'the request is not JSON' });
    }
    try {
      reply(stream, 200, await this.caService.createCertificate(caller, body));
    } catch (err) {
      if (err instanceof CsrRefused)
        return reply(stream, err.status, { code: err.status === 403 ? GRPC_PERMISSION_DENIED : GRPC_INVALID_ARGUMENT, message: err.message });
      this.log.error('CSR failed', { caller: caller.description, error: errorMessage(err) });
      reply(stream, 500, { code: 13, message: 'internal error' });
    }
  }

  private configDump(): unknown {
    return {
      version: this.version,
      resources: Object.fromEntries([...this.snapshot].map(([typeUrl, resources]) => [typeUrl, [...resources.values()]])),
    };
  }

  private metricsText(): string {
    const lines = [
      '# HELP pilot_xds Number of endpoints connected to this pilot using XDS.',
      '# TYPE pilot_xds gauge',
      `pilot_xds ${this.ads.proxies.length}`,
      '# HELP citadel_server_success_cert_issuance_count The number of certificates issuances that have succeeded.',
      '# TYPE citadel_server_success_cert_issuance_count counter',
      `citadel_server_success_cert_issuance_count ${this.caService.issued}`,
      '# HELP citadel_server_csr_refused_count The number of CSRs refused (hbone-sim).',
      '# TYPE citadel_server_csr_refused_count counter',
      `citadel_server_csr_refused_count ${this.caService.refused}`,
      '# HELP pilot_total_xds_rejects Total number of XDS responses from pilot rejected by proxy.',
      '# TYPE pilot_total_xds_rejects counter',
      ...Object.entries(TYPE_SHORT_NAMES).map(([typeUrl, t]) => `pilot_total_xds_rejects{type="${t}"} ${this.ads.rejects(typeUrl as TypeUrl)}`),
    ];
    return lines.join('\n') + '\n';
  }
}

function reply(stream: http2.ServerHttp2Stream, status: number, body: unknown): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({ ':status': status, 'content-type': 'application/json' });
  stream.end(JSON.stringify(body));
}
