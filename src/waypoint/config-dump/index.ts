// The waypoint's admin /config_dump (dump.ts).
export * from './dump';
