// What every workload app is given and what it hands back. One app runs per pod, in a node
// agent's process or a process of its own; main.ts builds the context from the scenario's Workload.
import type * as http from 'node:http';
import type { Workload } from '../mesh/model';
import type { Logger } from '../telemetry/log';
import type { Endpoint } from './socks5';

export interface AppContext {
  readonly pod: Workload;
  /** The loopback address serving the pod's cluster address (10.a.b.c -> 127.a.b.c); apps bind here. */
  readonly podHostIp: string;
  /** Outbound HTTP through this pod's SOCKS5 capture, so calls carry the pod's identity. */
  readonly meshAgent: http.Agent;
  /**
   * Where this pod's SOCKS5 capture listens, for raw TCP clients (sleep's /tcp).
   * Defaults to podHostIp:15080, served by the node's ztunnel.
   */
  readonly socksProxy?: Endpoint;
  readonly log: Logger;
}

export interface RunningApp {
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

export type StartApp = (ctx: AppContext) => Promise<RunningApp>;
