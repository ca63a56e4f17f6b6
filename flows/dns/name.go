package dns

// maxNameWire is the longest a name may be on the wire, counting length
// octets and the final root label (RFC 1035 §2.3.4).
const maxNameWire = 255

// maxPointers bounds the compression pointers followed while reading one
// name. A legal name of 255 octets has at most 127 labels, so a reader never
// needs more jumps than that; more means a cycle (or a chain of pointers to
// pointers built to waste time).
const maxPointers = 127

// appendName decodes the possibly compressed name that starts at off in msg,
// appends its presentation form to dst and returns it with the offset just
// past the name at its original position.
//
// Presentation form follows zone-file conventions (RFC 1035 §5.1, as BIND
// prints names): labels joined by '.', no trailing dot, the root is ".";
// inside a label '.', '\\', '"', '(', ')', ';', '@' and '$' are escaped with
// a backslash and every byte outside printable ASCII (0x21-0x7e, so space
// included) is written as \DDD in decimal. The result is therefore plain
// ASCII whatever the packet holds: no control bytes, no invalid UTF-8.
//
// Pointers may point anywhere earlier or later in the message (RFC 1035
// only says "a prior occurrence", and forward pointers exist in the wild);
// cycles are caught by the pointer budget and by the 255-octet limit.
func appendName(dst, msg []byte, off int) ([]byte, int, error) {
	start := len(dst)
	end := -1 // offset after the name in place, set at the first pointer
	wire := 0 // octets of the expanded name, for the 255 limit
	hops := 0
	for {
		if off >= len(msg) {
			return dst[:start], 0, ErrTruncated
		}
		c := int(msg[off])
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				wire++
				if wire > maxNameWire {
					return dst[:start], 0, ErrNameTooLong
				}
				if end < 0 {
					end = off + 1
				}
				if len(dst) == start {
					dst = append(dst, '.')
				}
				return dst, end, nil
			}
			wire += 1 + c
			if wire > maxNameWire {
				return dst[:start], 0, ErrNameTooLong
			}
			if off+1+c > len(msg) {
				return dst[:start], 0, ErrTruncated
			}
			if len(dst) > start {
				dst = append(dst, '.')
			}
			dst = appendLabel(dst, msg[off+1:off+1+c])
			off += 1 + c
		case 0xc0:
			if off+1 >= len(msg) {
				return dst[:start], 0, ErrTruncated
			}
			if end < 0 {
				end = off + 2
			}
			hops++
			if hops > maxPointers {
				return dst[:start], 0, ErrPointerLoop
			}
			ptr := (c&0x3f)<<8 | int(msg[off+1])
			if ptr >= len(msg) {
				return dst[:start], 0, ErrBadPointer
			}
			off = ptr
		default:
			return dst[:start], 0, ErrBadLabel
		}
	}
}

// appendLabel appends one label in presentation form (see appendName).
func appendLabel(dst, label []byte) []byte {
	for _, b := range label {
		switch {
		case b == '.' || b == '\\' || b == '"' || b == '(' || b == ')' || b == ';' || b == '@' || b == '$':
			dst = append(dst, '\\', b)
		case b < 0x21 || b > 0x7e:
			dst = append(dst, '\\', '0'+b/100, '0'+b/10%10, '0'+b%10)
		default:
			dst = append(dst, b)
		}
	}
	return dst
}

// skipName returns the offset just past the name at off without decoding
// it: the name ends at a zero label or at its first pointer, which is not
// followed (so a bad pointer in a name nobody reads costs nothing).
func skipName(msg []byte, off int) (int, error) {
	wire := 0
	for {
		if off >= len(msg) {
			return 0, ErrTruncated
		}
		c := int(msg[off])
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				return off + 1, nil
			}
			wire += 1 + c
			if wire > maxNameWire {
				return 0, ErrNameTooLong
			}
			off += 1 + c
		case 0xc0:
			if off+1 >= len(msg) {
				return 0, ErrTruncated
			}
			return off + 2, nil
		default:
			return 0, ErrBadLabel
		}
	}
}

// lowerASCII returns s with A-Z folded to a-z, and s itself (no copy) when
// it has no upper-case letter. DNS compares names case-insensitively in
// ASCII only (RFC 4343); escaped bytes (\DDD) are left alone because the
// presentation form never escapes letters.
func lowerASCII(s string) string {
	i := 0
	for i < len(s) && !('A' <= s[i] && s[i] <= 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if 'A' <= b[i] && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}
