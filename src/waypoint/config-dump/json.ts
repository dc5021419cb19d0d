// JSON values as the waypoint's config dump builds them (Envoy's admin JSON is protobuf's JSON
// mapping: objects, lists, strings, numbers, booleans).

export type Json = string | number | boolean | null | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}
