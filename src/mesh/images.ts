// What a pod runs, decided by its container image as a cluster would run it: Istio's bookinfo
// images run the matching bookinfo app, the curl and sleep samples run the client that `exec`
// drives, fortio, httpbin and hashicorp/http-echo an HTTP echo server. An image not in the table
// runs a plain TCP echo, and the reader says so.
import type { AppSpec } from './model';

interface ImageRule {
  /** Matched against the image's repository path (registry and tag left out). */
  readonly pattern: RegExp;
  readonly app: string;
  /** The port it serves when the pod names none (the image's own default). */
  readonly port: number;
}

const BOOKINFO_PORT = 9080;
/** The table, first match wins; documented in docs/hands-on.md's neighbour, README's apply section. */
export const IMAGE_TABLE: readonly ImageRule[] = [
  { pattern: /(^|\/)examples-bookinfo-productpage(-v\d+)?$/, app: 'productpage', port: BOOKINFO_PORT },
  { pattern: /(^|\/)examples-bookinfo-details(-v\d+)?$/, app: 'details', port: BOOKINFO_PORT },
  { pattern: /(^|\/)examples-bookinfo-reviews(-v\d+)?$/, app: 'reviews', port: BOOKINFO_PORT },
  { pattern: /(^|\/)examples-bookinfo-ratings(-v\d+)?$/, app: 'ratings', port: BOOKINFO_PORT },
  { pattern: /(^|\/)(curl|sleep)$/, app: 'sleep', port: 80 },
  { pattern: /(^|\/)fortio$/, app: 'http-echo', port: 8080 },
  { pattern: /(^|\/)httpbin$/, app: 'http-echo', port: 80 },
  { pattern: /(^|\/)http-echo$/, app: 'http-echo', port: 5678 },
];
/** What an image not in the table runs. */
export const UNKNOWN_IMAGE_APP = 'echo';

export interface ImageApp {
  readonly app: AppSpec;
  /** Set when the image was not in the table: what the pod runs instead, said to the user. */
  readonly note?: string;
}

/** The repository path of an image reference: registry host, tag and digest left out. */
export function imageRepository(image: string): string {
  const noDigest = image.split('@')[0];
  const parts = noDigest.split('/');
  // A first part with a dot or a colon (or localhost) is a registry host.
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0])) parts.shift();
  const last = parts[parts.length - 1].split(':')[0];
  return [...parts.slice(0, -1), last].join('/');
}

/** The app an image runs, on `port` when the pod names one. */
export function appForImage(image: string, port?: number): ImageApp {
  const repo = imageRepository(image);
  const rule = IMAGE_TABLE.find((r) => r.pattern.test(repo));
  if (rule) return { app: { kind: rule.app, port: port ?? rule.port } };
  return {
    app: { kind: UNKNOWN_IMAGE_APP, port: port ?? 8080 },
    note: `image ${image} is not in hbone-sim's table: the pod runs a plain TCP echo on port ${port ?? 8080}`,
  };
}
