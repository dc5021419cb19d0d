// The programs a scenario pod can run (`run.app`). Bookinfo's four services, as in Istio's
// sample, plus small teaching apps: sleep (a client driven through the exec port), echo
// (TCP echo) and sink (swallows bytes, for load tests).

export const APP_KINDS = ['productpage', 'details', 'reviews', 'ratings', 'sleep', 'echo', 'sink'] as const;

export type AppKind = (typeof APP_KINDS)[number];

export function isAppKind(kind: string): kind is AppKind {
  return (APP_KINDS as readonly string[]).includes(kind);
}
