package rules

import (
	"fmt"
	"strings"

	"github.com/pcapx/pcapx/flows"
)

// TLSAlert reports handshakes that failed with a fatal alert after the
// server had answered (tls-handshake-rejected reports those refused before
// any ServerHello).
var TLSAlert = &Rule{
	ID:    "tls-alert",
	Title: "TLS handshakes failed with a fatal alert",
	Doc: `After the ServerHello, one side ended the handshake with a fatal TLS alert: the
two sides agreed on a version and cipher, then failed over the certificate or
the key exchange. The finding names the alert and who sent it, by server and
name. Alerts are readable only while they are sent in the clear (TLS 1.2 and
older, before the ChangeCipherSpec); a TLS 1.3 client's alert about the
certificate is encrypted and shows as an aborted handshake instead.

What the common alerts mean: unknown_ca, bad_certificate, certificate_unknown
(the client does not trust the chain: a private CA, a missing intermediate);
certificate_expired, certificate_revoked; handshake_failure, insufficient_security
(no acceptable parameters); decrypt_error, bad_record_mac (a key exchange gone
wrong, a middlebox altering traffic); certificate_required (mutual TLS without
a client certificate); unrecognized_name (the server does not know the SNI).

Next: "openssl s_client -connect HOST:PORT -servername SNI -showcerts" for the
chain and its dates; the client's trust store; for mutual TLS, the client's
certificate configuration.`,
	Severity: Error,
	Events:   []EventKind{EventTLS},
	New:      func(p Params) Checker { return &tlsAlert{p: p} },
}

type tlsAlert struct {
	p Params
	g groups
}

func (c *tlsAlert) Event(ev *Event, _ func(Finding)) {
	t := ev.TLS
	if t.AlertLevel != "fatal" || t.Alert == "" || strings.HasPrefix(t.Outcome, "rejected") {
		return
	}
	e := c.g.add(t.DstAddr+"|"+fmt.Sprint(t.DstPort)+"|"+t.SNI+"|"+t.Alert+"|"+t.AlertFrom, t.ClientHelloNS, t.ClientHelloFrame, t.FlowRef)
	if e == nil {
		return
	}
	if e.data == nil {
		tt := *t
		tt.ALPN, tt.OfferedVersions = nil, nil
		e.data = &tt
	}
	if t.EndFrame.Frame > 0 && len(e.evidence) < 5 {
		e.evidence = append(e.evidence, t.EndFrame)
	}
}

// alertMeaning says what a fatal alert means, in a few words.
var alertMeaning = map[string]string{
	"unknown_ca":            "the client does not trust the issuer of the server's certificate (a private CA or a missing intermediate)",
	"bad_certificate":       "a certificate was rejected (a broken chain, a wrong key usage)",
	"certificate_unknown":   "a certificate was rejected for an unstated reason (often an untrusted chain or a name mismatch)",
	"certificate_expired":   "a certificate has expired (or the client's clock is wrong)",
	"certificate_revoked":   "a certificate was revoked",
	"handshake_failure":     "no acceptable parameters in common",
	"insufficient_security": "the server requires stronger ciphers than offered",
	"decrypt_error":         "a signature or the Finished check failed (a key mismatch, a middlebox altering traffic)",
	"bad_record_mac":        "a record failed its integrity check (a middlebox altering traffic, a broken implementation)",
	"certificate_required":  "the server requires a client certificate (mutual TLS) and none was sent",
	"unrecognized_name":     "the server does not know the requested name (SNI)",
	"protocol_version":      "no TLS version in common",
	"illegal_parameter":     "a handshake field was out of range",
	"internal_error":        "the sender failed internally",
}

func (c *tlsAlert) Finish(report func(Finding)) {
	for _, e := range c.g.sorted() {
		t := e.data.(*flows.TLSRecord)
		sni := t.SNI
		if sni == "" {
			sni = "(no SNI)"
		}
		msg := fmt.Sprintf("%d TLS handshake(s) with %s for %s failed with a fatal %s alert from the %s", e.count, endpoint(t.DstAddr, t.DstPort), sni, t.Alert, t.AlertFrom)
		if m, ok := alertMeaning[t.Alert]; ok {
			msg += ": " + m
		}
		if t.Version != "" {
			msg += fmt.Sprintf(" (%s, %s)", t.Version, t.Cipher)
		}
		filter := fmt.Sprintf("tls.alert_message.level == 2 && %s && tcp.port == %d", hostFilter(t.DstAddr), t.DstPort)
		report(e.finding(TLSAlert, c.p.Severity, msg, filter).keyed("server", endpoint(t.DstAddr, t.DstPort), "sni", t.SNI, "alert", t.Alert, "alert_from", t.AlertFrom))
	}
	c.g.reportOverflow(report, TLSAlert, c.p.Severity, "fatal TLS alerts", "tls.alert_message.level == 2")
}
