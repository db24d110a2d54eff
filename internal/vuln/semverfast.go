package vuln

import "strings"

// fastSemver is a pre-parsed SemVer 2.0 version for the common shapes
// (1.2.3, v1.2.3-rc.1, 1.2.3+incompatible) so that the hot loop of
// matching compares integers instead of calling osv-scalibr's semantic,
// which allocates per comparison. Anything else (leading zeros in
// pre-release numbers, empty identifiers, 4+ components, no hyphen before
// the pre-release) is left to semantic; TestFastSemverAgrees checks that
// both orders agree on every version of the data.
type fastSemver struct {
	ok                  bool
	major, minor, patch uint64
	pre                 string // pre-release without "-"; "" for a release
}

func parseFastSemver(s string) fastSemver {
	s = strings.TrimPrefix(s, "v")
	if i := strings.IndexByte(s, '+'); i >= 0 {
		s = s[:i] // build metadata does not order
	}
	core, pre, hasPre := strings.Cut(s, "-")
	if hasPre && !validPre(pre) {
		return fastSemver{}
	}
	var v fastSemver
	nums := [3]*uint64{&v.major, &v.minor, &v.patch}
	for i := 0; i < 3; i++ {
		part, rest, more := strings.Cut(core, ".")
		n, ok := parseUint(part)
		if !ok {
			return fastSemver{}
		}
		*nums[i] = n
		core = rest
		if !more {
			break
		}
		if i == 2 {
			return fastSemver{} // a fourth component: semantic moves it to the build
		}
	}
	v.pre, v.ok = pre, true
	return v
}

func parseUint(s string) (uint64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// validPre accepts dot-separated non-empty identifiers of [0-9A-Za-z-]
// whose numeric ones have no leading zero.
func validPre(pre string) bool {
	if pre == "" {
		return false
	}
	for id := range strings.SplitSeq(pre, ".") {
		if id == "" {
			return false
		}
		digits := true
		for i := 0; i < len(id); i++ {
			c := id[i]
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
				digits = false
			default:
				return false
			}
		}
		if digits && len(id) > 1 && id[0] == '0' {
			return false
		}
	}
	return true
}

// compare orders a and b by SemVer 2.0 precedence.
func (a fastSemver) compare(b fastSemver) int {
	switch {
	case a.major != b.major:
		return cmpU(a.major, b.major)
	case a.minor != b.minor:
		return cmpU(a.minor, b.minor)
	case a.patch != b.patch:
		return cmpU(a.patch, b.patch)
	case a.pre == b.pre:
		return 0
	case a.pre == "":
		return 1
	case b.pre == "":
		return -1
	}
	x, y := a.pre, b.pre
	for {
		xi, xr, xmore := strings.Cut(x, ".")
		yi, yr, ymore := strings.Cut(y, ".")
		if c := compareIdent(xi, yi); c != 0 {
			return c
		}
		switch {
		case !xmore && !ymore:
			return 0
		case !xmore:
			return -1
		case !ymore:
			return 1
		}
		x, y = xr, yr
	}
}

func compareIdent(a, b string) int {
	an, bn := isDigits(a), isDigits(b)
	switch {
	case an && bn:
		if len(a) != len(b) {
			return cmpU(uint64(len(a)), uint64(len(b)))
		}
		return strings.Compare(a, b)
	case an:
		return -1
	case bn:
		return 1
	}
	return strings.Compare(a, b)
}

func cmpU(a, b uint64) int {
	if a < b {
		return -1
	}
	return 1
}
