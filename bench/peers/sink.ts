// The peers suite's sink process (sink-main.ts): one for both implementations of every job.
import * as path from 'node:path';
import type { Endpoint } from '../mesh';
import { PeerChild } from './child';

const SINK_MAIN = path.join(__dirname, 'sink-main.js');
const READY_TIMEOUT_MS = 10_000;

export function startPeerSink(at: Endpoint): Promise<PeerChild> {
  return PeerChild.start({
    name: 'sink',
    command: process.execPath,
    args: [SINK_MAIN, at.host, String(at.port)],
    env: { NODE_OPTIONS: '' },
    ready: (out) => /^ready /m.test(out),
    timeoutMs: READY_TIMEOUT_MS,
  });
}
