package tls

import "fmt"

// TLS protocol versions as they appear on the wire.
const (
	VersionSSL20  = 0x0002
	VersionSSL30  = 0x0300
	VersionTLS10  = 0x0301
	VersionTLS11  = 0x0302
	VersionTLS12  = 0x0303
	VersionTLS13  = 0x0304
	VersionDTLS10 = 0xfeff
	VersionDTLS12 = 0xfefd
	VersionDTLS13 = 0xfefc
)

// VersionName names a protocol version: "TLS 1.2", "SSL 3.0", "DTLS 1.2",
// "TLS 1.3 draft 28" (0x7f1c), "GREASE 0x0a0a", or "0x1234" when unknown.
// 0 (no version) is "".
func VersionName(v uint16) string {
	switch v {
	case 0:
		return ""
	case VersionSSL20:
		return "SSL 2.0"
	case VersionSSL30:
		return "SSL 3.0"
	case VersionTLS10:
		return "TLS 1.0"
	case VersionTLS11:
		return "TLS 1.1"
	case VersionTLS12:
		return "TLS 1.2"
	case VersionTLS13:
		return "TLS 1.3"
	case VersionDTLS10:
		return "DTLS 1.0"
	case VersionDTLS12:
		return "DTLS 1.2"
	case VersionDTLS13:
		return "DTLS 1.3"
	}
	if v>>8 == 0x7f {
		return fmt.Sprintf("TLS 1.3 draft %d", v&0xff)
	}
	if IsGREASE(v) {
		return fmt.Sprintf("GREASE 0x%04x", v)
	}
	return fmt.Sprintf("0x%04x", v)
}

// Alert levels (RFC 5246 §7.2).
const (
	AlertLevelWarning = 1
	AlertLevelFatal   = 2
)

// AlertLevelName is "warning", "fatal", or the number.
func AlertLevelName(l uint8) string {
	switch l {
	case AlertLevelWarning:
		return "warning"
	case AlertLevelFatal:
		return "fatal"
	}
	return fmt.Sprintf("level_%d", l)
}

// Alert descriptions: RFC 8446 §6, the values TLS 1.3 reserves from earlier
// versions (RFC 2246, 4346, 5246), and later IANA registrations.
var alertNames = map[uint8]string{
	0:   "close_notify",
	10:  "unexpected_message",
	20:  "bad_record_mac",
	21:  "decryption_failed", // reserved since TLS 1.2 (RFC 5246)
	22:  "record_overflow",
	30:  "decompression_failure", // reserved since TLS 1.3
	40:  "handshake_failure",
	41:  "no_certificate", // SSL 3.0 only
	42:  "bad_certificate",
	43:  "unsupported_certificate",
	44:  "certificate_revoked",
	45:  "certificate_expired",
	46:  "certificate_unknown",
	47:  "illegal_parameter",
	48:  "unknown_ca",
	49:  "access_denied",
	50:  "decode_error",
	51:  "decrypt_error",
	60:  "export_restriction", // reserved since TLS 1.1 (RFC 4346)
	70:  "protocol_version",
	71:  "insufficient_security",
	80:  "internal_error",
	86:  "inappropriate_fallback", // RFC 7507
	90:  "user_canceled",
	100: "no_renegotiation", // reserved since TLS 1.3
	109: "missing_extension",
	110: "unsupported_extension",
	111: "certificate_unobtainable",        // reserved since TLS 1.3 (RFC 6066)
	112: "unrecognized_name",               // RFC 6066: SNI not known to the server
	113: "bad_certificate_status_response", // RFC 6066
	114: "bad_certificate_hash_value",      // reserved since TLS 1.3 (RFC 6066)
	115: "unknown_psk_identity",            // RFC 4279
	116: "certificate_required",
	120: "no_application_protocol", // RFC 7301: no ALPN protocol in common
	121: "ech_required",            // Encrypted Client Hello (IANA)
}

// AlertName names an alert description ("handshake_failure",
// "unrecognized_name", ...), or "alert_N" when unknown.
func AlertName(d uint8) string {
	if n, ok := alertNames[d]; ok {
		return n
	}
	return fmt.Sprintf("alert_%d", d)
}

// Common cipher suites (IANA "TLS Cipher Suites"), with their RFC names.
var cipherNames = map[uint16]string{
	0x0000: "TLS_NULL_WITH_NULL_NULL",
	0x0004: "TLS_RSA_WITH_RC4_128_MD5",
	0x0005: "TLS_RSA_WITH_RC4_128_SHA",
	0x000a: "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
	0x0016: "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA",
	0x002f: "TLS_RSA_WITH_AES_128_CBC_SHA",
	0x0032: "TLS_DHE_DSS_WITH_AES_128_CBC_SHA",
	0x0033: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
	0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA",
	0x0038: "TLS_DHE_DSS_WITH_AES_256_CBC_SHA",
	0x0039: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
	0x003c: "TLS_RSA_WITH_AES_128_CBC_SHA256",
	0x003d: "TLS_RSA_WITH_AES_256_CBC_SHA256",
	0x0041: "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA",
	0x0067: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
	0x006b: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
	0x0084: "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA",
	0x009c: "TLS_RSA_WITH_AES_128_GCM_SHA256",
	0x009d: "TLS_RSA_WITH_AES_256_GCM_SHA384",
	0x009e: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
	0x009f: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
	0x00ff: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
	0x1301: "TLS_AES_128_GCM_SHA256",
	0x1302: "TLS_AES_256_GCM_SHA384",
	0x1303: "TLS_CHACHA20_POLY1305_SHA256",
	0x1304: "TLS_AES_128_CCM_SHA256",
	0x1305: "TLS_AES_128_CCM_8_SHA256",
	0x5600: "TLS_FALLBACK_SCSV",
	0xc007: "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
	0xc008: "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA",
	0xc009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
	0xc00a: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
	0xc011: "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
	0xc012: "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
	0xc013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
	0xc014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
	0xc023: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
	0xc024: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
	0xc027: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
	0xc028: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
	0xc02b: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	0xc02c: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	0xc02f: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	0xc030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	0xc09c: "TLS_RSA_WITH_AES_128_CCM",
	0xc09d: "TLS_RSA_WITH_AES_256_CCM",
	0xc0ac: "TLS_ECDHE_ECDSA_WITH_AES_128_CCM",
	0xc0ad: "TLS_ECDHE_ECDSA_WITH_AES_256_CCM",
	0xcca8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	0xcca9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
	0xccaa: "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
}

// CipherSuiteName names common cipher suites by their IANA name
// ("TLS_AES_128_GCM_SHA256"); GREASE values are "GREASE"; others "0x1234".
func CipherSuiteName(c uint16) string {
	if n, ok := cipherNames[c]; ok {
		return n
	}
	if IsGREASE(c) {
		return "GREASE"
	}
	return fmt.Sprintf("0x%04x", c)
}

// Common extension types (IANA "TLS ExtensionType Values").
var extensionNames = map[uint16]string{
	0:     "server_name",
	1:     "max_fragment_length",
	5:     "status_request",
	10:    "supported_groups",
	11:    "ec_point_formats",
	13:    "signature_algorithms",
	14:    "use_srtp",
	15:    "heartbeat",
	16:    "application_layer_protocol_negotiation",
	18:    "signed_certificate_timestamp",
	21:    "padding",
	22:    "encrypt_then_mac",
	23:    "extended_master_secret",
	27:    "compress_certificate",
	28:    "record_size_limit",
	34:    "delegated_credential",
	35:    "session_ticket",
	41:    "pre_shared_key",
	42:    "early_data",
	43:    "supported_versions",
	44:    "cookie",
	45:    "psk_key_exchange_modes",
	47:    "certificate_authorities",
	49:    "post_handshake_auth",
	50:    "signature_algorithms_cert",
	51:    "key_share",
	57:    "quic_transport_parameters",
	17513: "application_settings",     // 0x4469, ALPS (Chrome)
	17613: "application_settings_new", // 0x44cd
	65037: "encrypted_client_hello",   // 0xfe0d
	65281: "renegotiation_info",       // 0xff01
}

// ExtensionName names common extension types ("server_name",
// "key_share", ...); GREASE values are "GREASE"; others "ext_N".
func ExtensionName(e uint16) string {
	if n, ok := extensionNames[e]; ok {
		return n
	}
	if IsGREASE(e) {
		return "GREASE"
	}
	return fmt.Sprintf("ext_%d", e)
}
