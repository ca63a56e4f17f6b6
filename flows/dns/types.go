package dns

import "strconv"

// Resource record types this package interprets, plus OPT (RFC 6891).
const (
	TypeA     uint16 = 1  // RFC 1035
	TypeNS    uint16 = 2  // RFC 1035
	TypeCNAME uint16 = 5  // RFC 1035
	TypeSOA   uint16 = 6  // RFC 1035
	TypePTR   uint16 = 12 // RFC 1035
	TypeMX    uint16 = 15 // RFC 1035
	TypeTXT   uint16 = 16 // RFC 1035
	TypeAAAA  uint16 = 28 // RFC 3596
	TypeSRV   uint16 = 33 // RFC 2782
	TypeOPT   uint16 = 41 // RFC 6891
	TypeSVCB  uint16 = 64 // RFC 9460
	TypeHTTPS uint16 = 65 // RFC 9460
	TypeANY   uint16 = 255
)

// ClassIN is the Internet class. In mDNS (RFC 6762 §10.2, §5.4) the top bit
// of the class is the cache-flush bit in records and the unicast-response
// bit in questions; compare with Class&0x7fff.
const ClassIN uint16 = 1

var typeNames = map[uint16]string{
	1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR",
	10: "NULL", 11: "WKS", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT",
	17: "RP", 18: "AFSDB", 19: "X25", 20: "ISDN", 21: "RT", 22: "NSAP", 23: "NSAP-PTR",
	24: "SIG", 25: "KEY", 26: "PX", 27: "GPOS", 28: "AAAA", 29: "LOC", 30: "NXT",
	31: "EID", 32: "NIMLOC", 33: "SRV", 34: "ATMA", 35: "NAPTR", 36: "KX", 37: "CERT",
	38: "A6", 39: "DNAME", 40: "SINK", 41: "OPT", 42: "APL", 43: "DS", 44: "SSHFP",
	45: "IPSECKEY", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 49: "DHCID", 50: "NSEC3",
	51: "NSEC3PARAM", 52: "TLSA", 53: "SMIMEA", 55: "HIP", 56: "NINFO", 57: "RKEY",
	58: "TALINK", 59: "CDS", 60: "CDNSKEY", 61: "OPENPGPKEY", 62: "CSYNC", 63: "ZONEMD",
	64: "SVCB", 65: "HTTPS", 99: "SPF", 104: "NID", 105: "L32", 106: "L64", 107: "LP",
	108: "EUI48", 109: "EUI64", 249: "TKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR",
	253: "MAILB", 254: "MAILA", 255: "ANY", 256: "URI", 257: "CAA", 258: "AVC",
	259: "DOA", 260: "AMTRELAY", 261: "RESINFO", 32768: "TA", 32769: "DLV",
}

// TypeName returns the mnemonic of a record type ("A", "AAAA", "HTTPS"), or
// "TYPE<n>" as RFC 3597 §5 writes unknown types. Type 255 is "ANY" (IANA
// writes "*").
func TypeName(t uint16) string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// ClassName returns "IN", "CH", "HS", "NONE", "ANY" or "CLASS<n>" (RFC 3597).
// The mDNS top bit is not stripped: pass c&0x7fff for mDNS.
func ClassName(c uint16) string {
	switch c {
	case 1:
		return "IN"
	case 3:
		return "CH"
	case 4:
		return "HS"
	case 254:
		return "NONE"
	case 255:
		return "ANY"
	}
	return "CLASS" + strconv.Itoa(int(c))
}
