// Which TLS alert a refused client certificate gets, as ztunnel (rustls) and the waypoint
// (Envoy on BoringSSL) send them, instead of a bare TCP close.
//
// rustls maps its CertificateError to an AlertDescription (rustls src/error.rs, after OpenSSL's
// and BoringSSL's own tables):
//   UnknownIssuer                      -> unknown_ca (48)
//   Expired, NotValidYet               -> certificate_expired (45) ("expired or not currently valid")
//   BadEncoding, UnhandledCriticalExtension, NotValidForName -> bad_certificate (42)
//   Revoked                            -> certificate_revoked (44)
//   BadSignature                       -> decrypt_error (51)
//   InvalidPurpose                     -> unsupported_certificate (43)
//   ApplicationVerificationFailure     -> access_denied (49)
//   Other(..)                          -> certificate_unknown (46)
// ztunnel's client-certificate verifier (TrustDomainVerifier, src/tls/workload.rs) runs
// webpki's chain check, then refuses a peer with no SPIFFE identity in our trust domain as
// CertificateError::Other: certificate_unknown. Envoy's default validator agrees: a chain error
// becomes SSL_alert_from_verify_result() (unknown_ca, certificate_expired for expired and
// not-yet-valid alike, bad_certificate...) and a SAN-matcher miss keeps its default
// certificate_unknown. A client that sends no certificate at all gets certificate_required
// (116), TLS 1.3's alert for it, from both.
//
// OpenSSL (under Node) reports chain errors by X509_V_ERR name, the `authorizationError` of
// the TLS socket; each maps to the rustls error it corresponds to.

export const ALERT_LEVEL_FATAL = 2;
export const CONTENT_TYPE_ALERT = 21;

export const TlsAlert = {
  bad_certificate: 42,
  unsupported_certificate: 43,
  certificate_revoked: 44,
  certificate_expired: 45,
  certificate_unknown: 46,
  unknown_ca: 48,
  access_denied: 49,
  decrypt_error: 51,
  internal_error: 80,
  certificate_required: 116,
} as const;

export type TlsAlertName = keyof typeof TlsAlert;

/** OpenSSL verify error (Node's `authorizationError`) -> the alert rustls sends for its equivalent. */
const BY_VERIFY_ERROR: Readonly<Record<string, TlsAlertName>> = {
  // webpki UnknownIssuer: no path to a trust anchor of ours.
  UNABLE_TO_GET_ISSUER_CERT: 'unknown_ca',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unknown_ca',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unknown_ca',
  SELF_SIGNED_CERT_IN_CHAIN: 'unknown_ca',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'unknown_ca',
  CERT_CHAIN_TOO_LONG: 'unknown_ca',
  INVALID_CA: 'unknown_ca',
  PATH_LENGTH_EXCEEDED: 'unknown_ca',
  // webpki CertExpired / CertNotValidYet.
  CERT_HAS_EXPIRED: 'certificate_expired',
  CERT_NOT_YET_VALID: 'certificate_expired',
  // webpki BadDer / BadDerTime / UnhandledCriticalExtension.
  ERROR_IN_CERT_NOT_BEFORE_FIELD: 'bad_certificate',
  ERROR_IN_CERT_NOT_AFTER_FIELD: 'bad_certificate',
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: 'bad_certificate',
  UNHANDLED_CRITICAL_EXTENSION: 'bad_certificate',
  CERT_REJECTED: 'bad_certificate',
  CERT_REVOKED: 'certificate_revoked',
  // webpki InvalidSignatureForPublicKey.
  CERT_SIGNATURE_FAILURE: 'decrypt_error',
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: 'decrypt_error',
  INVALID_PURPOSE: 'unsupported_certificate',
};

/**
 * OpenSSL names an unhandled critical extension only in its message: Node's code for X509 error
 * 34 is "UNSPECIFIED" with "unhandled critical extension" as the text.
 */
const MESSAGE_PATTERNS: ReadonlyArray<readonly [RegExp, TlsAlertName]> = [[/unhandled critical extension/i, 'bad_certificate']];

/** The alert for a chain that failed OpenSSL's verification; certificate_unknown for anything else. */
export function alertForVerifyError(code: string, message = ''): TlsAlertName {
  const known = BY_VERIFY_ERROR[code];
  if (known) return known;
  for (const [re, alert] of MESSAGE_PATTERNS) if (re.test(message) || re.test(code)) return alert;
  return 'certificate_unknown';
}

/** The two bytes of a fatal alert (RFC 8446 section 6). */
export function alertBody(alert: TlsAlertName): Buffer {
  return Buffer.from([ALERT_LEVEL_FATAL, TlsAlert[alert]]);
}
