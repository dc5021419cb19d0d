// What a proxy's primary and its worker threads say to each other over node:cluster's IPC
// channel (advanced serialization: Dates and Maps cross as they are). The primary is Envoy's
// main thread: it alone talks to istiod (xDS and the CA) and serves the admin ports; workers
// serve the data path and ask the primary for what only it has.
import type { IssueOptions } from '../identity/ca';
import type { SpiffeId } from '../identity/spiffe';
import type { TypeUrl, XdsResource } from '../xds/types';

/** Every message of this protocol carries this prefix in `kind`, so the runner's own messages pass untouched. */
const PREFIX = 'hbone-sim/workers/';

/** worker → primary: listening for messages; send the configuration so far. */
export const HELLO = `${PREFIX}hello`;
/** primary → worker: one type's resources as istiod last pushed them (the whole set, as the proxy's handler takes it). */
export const CONFIG = `${PREFIX}config`;
/** worker → primary: took every config message up to `seq`. */
export const CONFIG_APPLIED = `${PREFIX}config-applied`;
/** worker → primary: its listeners are up. */
export const READY = `${PREFIX}ready`;
/** primary → worker: a question about its own part (its config dump, its metrics). */
export const ASK = `${PREFIX}ask`;
/** worker → primary: a CSR to send to istiod's CA. */
export const CSR = `${PREFIX}csr`;
/** Either way: the answer to an ASK or a CSR, by id. */
export const ANSWER = `${PREFIX}answer`;

export type Question = 'config_dump' | 'metrics';

export interface HelloMessage {
  readonly kind: typeof HELLO;
}
export interface ConfigMessage {
  readonly kind: typeof CONFIG;
  readonly seq: number;
  readonly typeUrl: TypeUrl;
  readonly resources: readonly XdsResource[];
  readonly version: string;
}
export interface ConfigAppliedMessage {
  readonly kind: typeof CONFIG_APPLIED;
  readonly seq: number;
  /** Set when the worker could not take it (it keeps its last good set, as the primary NACKs nothing it took itself). */
  readonly error?: string;
}
export interface ReadyMessage {
  readonly kind: typeof READY;
}
export interface AskMessage {
  readonly kind: typeof ASK;
  readonly id: number;
  readonly question: Question;
}
export interface CsrMessage {
  readonly kind: typeof CSR;
  readonly id: number;
  readonly csrPem: string;
  readonly identity: SpiffeId;
  readonly options: IssueOptions;
}
export interface AnswerMessage {
  readonly kind: typeof ANSWER;
  readonly id: number;
  readonly value?: unknown;
  readonly error?: string;
}

export type WorkerMessage = HelloMessage | ConfigAppliedMessage | ReadyMessage | CsrMessage | AnswerMessage;
export type PrimaryMessage = ConfigMessage | AskMessage | AnswerMessage;

/** Whether a message belongs to this protocol (anything else is the runner's, relayed as it is). */
export function isWorkersMessage(m: unknown): m is WorkerMessage | PrimaryMessage {
  const kind = (m as { kind?: unknown } | null)?.kind;
  return typeof kind === 'string' && kind.startsWith(PREFIX);
}
