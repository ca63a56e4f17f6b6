package rules

import (
	"fmt"
	"strings"

	"github.com/pcapx/pcapx/flows"
)

// TLSHandshakeRejected reports TLS handshakes the server refused.
var TLSHandshakeRejected = &Rule{
	ID:    "tls-handshake-rejected",
	Title: "TLS handshake rejected after the ClientHello",
	Doc: `The client sent a ClientHello and the server side answered with a reset, a fatal
alert or a close instead of a ServerHello: the connection never got to TLS.

Likely causes: no protocol version or cipher suite in common (an old client
against a TLS 1.2+/1.3-only server, or the reverse), an SNI the server (or a load
balancer) does not serve, a firewall or proxy that inspects the ClientHello and
resets it (SNI filtering), a server that requires a client certificate, or a
server that is not speaking TLS on that port.

Next: "openssl s_client -connect HOST:PORT -servername SNI -tls1_2" (and -tls1_3)
shows what the server accepts; compare the offered versions and the alert below
with the server's configuration; if the RST comes from a middlebox, its TTL often
differs from the server's.`,
	Severity: Error,
	Events:   []EventKind{EventTLS},
	New:      func(p Params) Checker { return &tlsRejected{p: p} },
}

type tlsRejected struct {
	p Params
	g groups
}

func (c *tlsRejected) Event(ev *Event, _ func(Finding)) {
	t := ev.TLS
	if !strings.HasPrefix(t.Outcome, "rejected") {
		return
	}
	key := t.DstAddr + "|" + fmt.Sprint(t.DstPort) + "|" + t.SNI + "|" + t.Outcome + "|" + t.Alert
	e := c.g.add(key, t.ClientHelloNS, t.ClientHelloFrame, t.FlowRef)
	if e == nil {
		return
	}
	if e.data == nil {
		tt := *t
		e.data = &tt
	}
	if t.EndFrame.Frame > 0 && len(e.evidence) < 5 {
		e.evidence = append(e.evidence, t.EndFrame)
	}
}

func (c *tlsRejected) Finish(report func(Finding)) {
	for _, e := range c.g.sorted() {
		t := e.data.(*flows.TLSRecord)
		how := map[string]string{
			"rejected-reset": "reset by the " + t.ResetBy,
			"rejected-alert": "a fatal alert from the " + t.AlertFrom + ": " + t.Alert,
			"rejected-close": "closed by the server",
		}[t.Outcome]
		sni := t.SNI
		if sni == "" {
			sni = "(no SNI)"
		}
		msg := fmt.Sprintf("%d TLS handshake(s) to %s:%d for %s ended with %s before any ServerHello; the client offered %s",
			e.count, t.DstAddr, t.DstPort, sni, how, strings.Join(t.OfferedVersions, ", "))
		if len(t.ALPN) > 0 {
			msg += " (ALPN " + strings.Join(t.ALPN, ", ") + ")"
		}
		filter := fmt.Sprintf("%s && tcp.port == %d && (tls.handshake.type == 1 || tcp.flags.reset == 1 || tls.alert_message)", hostFilter(t.DstAddr), t.DstPort)
		report(e.finding(TLSHandshakeRejected, c.p.Severity, msg, filter).keyed("server", endpoint(t.DstAddr, t.DstPort), "sni", t.SNI, "outcome", t.Outcome, "alert", t.Alert))
	}
	c.g.reportOverflow(report, TLSHandshakeRejected, c.p.Severity, "rejected TLS handshakes", "tls.handshake.type == 1")
}
