// HBONE wire constants, as ztunnel uses them (see DESIGN.md section 3).
import { constants as h2 } from 'node:http2';

export const PORT_HBONE = 15008;
export const ALPN_H2 = 'h2';
export const TLS_VERSION = 'TLSv1.3' as const;

/**
 * Flow-control windows. Unequal on purpose: equal windows can deadlock (ztunnel #1539).
 * Smaller than ztunnel's 4 MiB / 16 MiB, deliberately: node:http2 stops reading its socket
 * while one of its writes is pending, so when both directions carry bulk data and the
 * connection window lets more bytes be in flight than the kernel's socket buffers hold
 * (tcp_wmem max is 4 MiB here), both peers block in write and neither reads again. The
 * 300-connection echo test deadlocked at 16 MiB; at 4 MiB it does not, and one stream is as
 * fast as with 4/16 MiB (about 1.3 GB/s, the same as one TLS connection, measured here).
 */
export const STREAM_WINDOW_BYTES = 1 * 1024 * 1024;
export const CONNECTION_WINDOW_BYTES = 4 * 1024 * 1024;
/** ztunnel's HTTP2_FRAME_SIZE default. */
export const MAX_FRAME_BYTES = 1024 * 1024;

/** Keepalive: ping every 10 s, drop the session when a ping is unanswered for 20 s. */
export const PING_INTERVAL_MS = 10_000;
export const PING_TIMEOUT_MS = 20_000;

/** Client side: ztunnel's POOL_MAX_STREAMS_PER_CONNECTION and POOL_UNUSED_RELEASE_TIMEOUT. */
export const POOL_MAX_STREAMS_PER_CONNECTION = 100;
export const POOL_UNUSED_RELEASE_TIMEOUT_MS = 5 * 60_000;
/** Server side: concurrent streams one peer may open on one session. */
export const SERVER_MAX_CONCURRENT_STREAMS = 200;
/**
 * Server side: the largest header list a CONNECT may carry, ztunnel's max_header_list_size
 * (64 KB: it knows what HBONE headers to expect). Over it, node:http2 resets the stream
 * ENHANCE_YOUR_CALM (h2 answers 431); without it Node took an 80 KB list.
 */
export const SERVER_MAX_HEADER_LIST_BYTES = 65_536;
/**
 * node:http2 refuses new streams (ENHANCE_YOUR_CALM) once a session holds more than this many
 * MB of queued outbound data. The 10 MB default fails at about 1,000 busy streams; backpressure,
 * not this limit, is what bounds memory, so it only has to sit above the worst honest case.
 */
export const MAX_SESSION_MEMORY_MB = 256;
/**
 * node:http2 closes a session after this many invalid frames (its own default is 1,000): set to
 * the h2 crate's DEFAULT_LOCAL_RESET_COUNT_MAX (1,024), the streams ztunnel's server may reset
 * for a peer's protocol errors before it answers GOAWAY ENHANCE_YOUR_CALM.
 */
export const MAX_SESSION_INVALID_FRAMES = 1024;
/**
 * node:http2 closes a session after this many streams it refused on creation (over its stream
 * or memory limits), each refused with RST_STREAM ENHANCE_YOUR_CALM: Node's default, named here.
 */
export const MAX_SESSION_REJECTED_STREAMS = 100;

export const CONNECT_TIMEOUT_MS = 10_000;
/** A peer that opens TCP to :15008 and never finishes TLS is dropped after this. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Inbound answers (DESIGN.md section 3). */
export const STATUS_OK = 200;
export const STATUS_BAD_REQUEST = 400;
export const STATUS_UNAUTHORIZED = 401;
export const STATUS_SERVICE_UNAVAILABLE = 503;

/** A TCP reset crosses the tunnel as RST_STREAM(CONNECT_ERROR), RFC 9113 section 8.5. */
export const RST_CONNECT_ERROR = h2.NGHTTP2_CONNECT_ERROR;
export const RST_NO_ERROR = h2.NGHTTP2_NO_ERROR;
/** GOAWAY code for a peer whose certificate is not of this mesh. */
export const GOAWAY_INADEQUATE_SECURITY = h2.NGHTTP2_INADEQUATE_SECURITY;
/** GOAWAY code for a peer that abuses the connection (rapid reset): h2's and nghttp2's answer. */
export const GOAWAY_ENHANCE_YOUR_CALM = h2.NGHTTP2_ENHANCE_YOUR_CALM;
/** A stream refused before any work was done on it: the client may retry it (RFC 9113 section 8.7). */
export const RST_REFUSED_STREAM = h2.NGHTTP2_REFUSED_STREAM;

/** Request headers ztunnel sends on every CONNECT, plus the waypoint's original-destination header. */
export const HEADER_BAGGAGE = 'baggage';
export const HEADER_FORWARDED = 'forwarded';
export const HEADER_TRACEPARENT = 'traceparent';
export const HEADER_ORIGINAL_DST = 'x-envoy-original-dst-host';

/** Local windows and limits both peers announce. */
export const HTTP2_SETTINGS = {
  initialWindowSize: STREAM_WINDOW_BYTES,
  maxFrameSize: MAX_FRAME_BYTES,
  enablePush: false,
} as const;
