package flows

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"net/netip"
)

// CommunityID computes the Community ID v1 flow hash (corelight's
// community-id-spec): base64(sha1(seed ‖ saddr ‖ daddr ‖ proto ‖ 0 ‖ sport ‖
// dport)) with the smaller (address, port) endpoint first, prefixed "1:".
// For ICMP and ICMPv6 the "ports" are the message type and its counterpart
// type (echo request ↔ reply, ...); a one-way type keeps its code as the
// second port and the endpoints are not reordered. Protocols without ports
// (anything but TCP, UDP, SCTP, ICMP) hash the addresses and protocol only.
// The same flow gets the same ID in Zeek, Suricata, Arkime and pcapx, which
// is what lets pcapx's tables join with their logs.
func CommunityID(seed uint16, src, dst netip.Addr, proto uint8, sport, dport uint16) string {
	var buf [2 + 16 + 16 + 2 + 4]byte
	oneWay := false
	hasPorts := true
	switch proto {
	case ProtoTCP, ProtoUDP, ProtoSCTP:
	case ProtoICMP, ProtoICMPv6:
		sport, dport, oneWay = icmpPortEquivalents(proto, uint8(sport), uint8(dport))
	default:
		hasPorts = false
	}
	s, d := src.Unmap(), dst.Unmap()
	sb, db := s.AsSlice(), d.AsSlice()
	if !oneWay {
		c := bytes.Compare(sb, db)
		if c > 0 || (c == 0 && hasPorts && sport > dport) {
			sb, db = db, sb
			sport, dport = dport, sport
		}
	}
	b := buf[:0]
	b = binary.BigEndian.AppendUint16(b, seed)
	b = append(b, sb...)
	b = append(b, db...)
	b = append(b, proto, 0)
	if hasPorts {
		b = binary.BigEndian.AppendUint16(b, sport)
		b = binary.BigEndian.AppendUint16(b, dport)
	}
	sum := sha1.Sum(b)
	var out [2 + 28]byte // "1:" and the base64 of 20 bytes
	out[0], out[1] = '1', ':'
	base64.StdEncoding.Encode(out[2:], sum[:])
	return string(out[:]) // one allocation, not two
}

// icmpCounterpart pairs request and reply types, per the Community ID spec.
var icmpCounterpart = map[uint8]uint8{
	8: 0, 0: 8, // echo
	13: 14, 14: 13, // timestamp
	15: 16, 16: 15, // information
	10: 9, 9: 10, // router solicitation / advertisement
	17: 18, 18: 17, // address mask
}

var icmp6Counterpart = map[uint8]uint8{
	128: 129, 129: 128, // echo
	133: 134, 134: 133, // router solicitation / advertisement
	135: 136, 136: 135, // neighbor solicitation / advertisement
	130: 131, 131: 130, // multicast listener query / report
	139: 140, 140: 139, // node information query / response
	144: 145, 145: 144, // home agent address discovery
}

func icmpPortEquivalents(proto uint8, typ, code uint8) (uint16, uint16, bool) {
	m := icmpCounterpart
	if proto == ProtoICMPv6 {
		m = icmp6Counterpart
	}
	if c, ok := m[typ]; ok {
		return uint16(typ), uint16(c), false
	}
	return uint16(typ), uint16(code), true
}
