// JSON values as the admin endpoints serve them: the waypoint's Envoy-shaped /config_dump (whose
// JSON is protobuf's JSON mapping), ztunnel's /config_dump, and the RBAC filters policy/ renders.

export type Json = string | number | boolean | null | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}
