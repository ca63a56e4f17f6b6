package dns

import "strconv"

// Response codes (RCODE). The header carries the low 4 bits; EDNS (RFC 6891
// §6.1.3) carries 8 more bits in the OPT record, giving 12 bits in all. The
// authoritative list is the IANA "DNS RCODEs" registry.
const (
	RcodeNoError   = 0  // RFC 1035 §4.1.1: no error
	RcodeFormErr   = 1  // RFC 1035 §4.1.1: the server could not interpret the query
	RcodeServFail  = 2  // RFC 1035 §4.1.1: the server failed (often: upstream unreachable, DNSSEC validation failure)
	RcodeNXDomain  = 3  // RFC 1035 §4.1.1: the name does not exist
	RcodeNotImp    = 4  // RFC 1035 §4.1.1: the kind of query is not supported
	RcodeRefused   = 5  // RFC 1035 §4.1.1: refused by policy (ACL, recursion not offered)
	RcodeYXDomain  = 6  // RFC 2136 §2.2: a name exists when it should not (dynamic update)
	RcodeYXRRSet   = 7  // RFC 2136 §2.2: an RRset exists when it should not
	RcodeNXRRSet   = 8  // RFC 2136 §2.2: an RRset that should exist does not
	RcodeNotAuth   = 9  // RFC 2136 §2.2 (not authoritative) and RFC 8945 §5.3 (not authorized, TSIG)
	RcodeNotZone   = 10 // RFC 2136 §2.2: a name is not within the zone
	RcodeDSOTypeNI = 11 // RFC 8490 §10.2: DSO-TYPE not implemented
	RcodeBadVers   = 16 // RFC 6891 §7: bad OPT version; also BADSIG in TSIG (RFC 8945 §5.3)
	RcodeBadKey    = 17 // RFC 8945 §5.3: key not recognized
	RcodeBadTime   = 18 // RFC 8945 §5.3: signature out of time window
	RcodeBadMode   = 19 // RFC 2930 §2.6: bad TKEY mode
	RcodeBadName   = 20 // RFC 2930 §2.6: duplicate key name
	RcodeBadAlg    = 21 // RFC 2930 §2.6: algorithm not supported
	RcodeBadTrunc  = 22 // RFC 8945 §5.3: bad truncation
	RcodeBadCookie = 23 // RFC 7873 §8: bad or missing server cookie
)

var rcodeNames = [...]string{
	RcodeNoError:   "NOERROR",
	RcodeFormErr:   "FORMERR",
	RcodeServFail:  "SERVFAIL",
	RcodeNXDomain:  "NXDOMAIN",
	RcodeNotImp:    "NOTIMP",
	RcodeRefused:   "REFUSED",
	RcodeYXDomain:  "YXDOMAIN",
	RcodeYXRRSet:   "YXRRSET",
	RcodeNXRRSet:   "NXRRSET",
	RcodeNotAuth:   "NOTAUTH",
	RcodeNotZone:   "NOTZONE",
	RcodeDSOTypeNI: "DSOTYPENI",
	RcodeBadVers:   "BADVERS",
	RcodeBadKey:    "BADKEY",
	RcodeBadTime:   "BADTIME",
	RcodeBadMode:   "BADMODE",
	RcodeBadName:   "BADNAME",
	RcodeBadAlg:    "BADALG",
	RcodeBadTrunc:  "BADTRUNC",
	RcodeBadCookie: "BADCOOKIE",
}

// RcodeName returns the mnemonic of a full (12-bit) rcode as IANA lists it,
// in upper case ("NXDOMAIN", "BADCOOKIE"), or "RCODE<n>" for a value with no
// name. Code 16 is "BADVERS": in a message header (with EDNS) that is its
// meaning; BADSIG shares the number but only appears in a TSIG record.
func RcodeName(rcode int) string {
	if rcode >= 0 && rcode < len(rcodeNames) && rcodeNames[rcode] != "" {
		return rcodeNames[rcode]
	}
	return "RCODE" + strconv.Itoa(rcode)
}

// Opcodes (IANA "DNS OpCodes").
const (
	OpcodeQuery  = 0 // RFC 1035
	OpcodeIQuery = 1 // RFC 3425 (obsolete)
	OpcodeStatus = 2 // RFC 1035
	OpcodeNotify = 4 // RFC 1996
	OpcodeUpdate = 5 // RFC 2136
	OpcodeDSO    = 6 // RFC 8490
)

// OpcodeName returns "QUERY", "NOTIFY", "UPDATE", ... or "OPCODE<n>".
func OpcodeName(op uint8) string {
	switch op {
	case OpcodeQuery:
		return "QUERY"
	case OpcodeIQuery:
		return "IQUERY"
	case OpcodeStatus:
		return "STATUS"
	case OpcodeNotify:
		return "NOTIFY"
	case OpcodeUpdate:
		return "UPDATE"
	case OpcodeDSO:
		return "DSO"
	}
	return "OPCODE" + strconv.Itoa(int(op))
}
