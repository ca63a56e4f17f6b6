package tls

// Handshake is the connection-level view of a TLS handshake, made from the
// two directions' Results by Summarize.
type Handshake struct {
	ClientHello *ClientHello // the first ClientHello, nil if none was seen
	// ServerHello is the server's last ServerHello that is not a
	// HelloRetryRequest, nil if none was seen.
	ServerHello *ServerHello
	HelloRetry  bool // the server sent a HelloRetryRequest

	Version     uint16 // negotiated version (ServerHello), 0 if unknown
	CipherSuite uint16 // chosen cipher suite (ServerHello)
	ALPN        string // chosen application protocol (ServerHello)

	// Established: a ClientHello and a ServerHello were seen, both
	// directions switched to encrypted records and no plaintext fatal alert
	// was sent. TLS 1.3 hides later failures (a client rejecting the
	// server's certificate sends an encrypted alert that looks like data),
	// so Established means "the handshake got to the encrypted phase".
	Established bool
	Start       int64 // time of the first ClientHello (0 when none)
	// End is when the later direction switched to encrypted records
	// (TLS 1.2: ChangeCipherSpec; TLS 1.3: first encrypted record), 0
	// unless Established. End-Start is the handshake time.
	End int64

	// Alert is the first plaintext fatal alert (else the first alert of
	// any kind), nil if none; AlertFromServer says who sent it.
	Alert           *Alert
	AlertFromServer bool
}

// Summarize combines the client's and the server's Results of one
// connection. Either may be nil (one-sided capture).
func Summarize(client, server *Result) Handshake {
	var h Handshake
	if client != nil && len(client.ClientHellos) > 0 {
		h.ClientHello = &client.ClientHellos[0]
		h.Start = h.ClientHello.Time
	}
	if server != nil {
		for i := range server.ServerHellos {
			sh := &server.ServerHellos[i]
			if sh.HelloRetryRequest {
				h.HelloRetry = true
				continue
			}
			h.ServerHello = sh
		}
	}
	if h.ServerHello != nil {
		h.Version = h.ServerHello.NegotiatedVersion()
		h.CipherSuite = h.ServerHello.CipherSuite
		h.ALPN = h.ServerHello.ALPN
	}

	fatal := false
	pick := func(r *Result, fromServer bool) {
		if r == nil {
			return
		}
		for i := range r.Alerts {
			a := &r.Alerts[i]
			if a.Fatal() {
				fatal = true
				if h.Alert == nil || !h.Alert.Fatal() || a.Time < h.Alert.Time {
					h.Alert, h.AlertFromServer = a, fromServer
				}
				return
			}
			if h.Alert == nil {
				h.Alert, h.AlertFromServer = a, fromServer
			}
		}
	}
	pick(client, false)
	pick(server, true)

	if h.ClientHello == nil || h.ServerHello == nil || fatal || client == nil || server == nil {
		return h
	}
	ct, cok := encryptedAt(client, h.Version)
	st, sok := encryptedAt(server, h.Version)
	if cok && sok {
		h.Established = true
		h.End = max(ct, st)
	}
	return h
}

// encryptedAt is when a direction switched to encrypted records.
func encryptedAt(r *Result, version uint16) (int64, bool) {
	if version == VersionTLS13 || version>>8 == 0x7f {
		// The ChangeCipherSpec is a dummy (and may even precede a second
		// ClientHello); encryption starts with the first application_data
		// record.
		return r.AppDataTime, r.AppData
	}
	if r.ChangeCipherSpec {
		return r.ChangeCipherSpecTime, true
	}
	return r.AppDataTime, r.AppData
}
