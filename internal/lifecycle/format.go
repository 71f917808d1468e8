package lifecycle

import (
	"fmt"
	"strconv"
)

// thousands formats n with thousands separators: 10,000.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// dollars formats whole US dollars: $50,000.
func dollars(n int64) string {
	if n < 0 {
		return "-$" + thousands(-n)
	}
	return "$" + thousands(n)
}

// days formats a count of days: "1 day", "12 days".
func days(n int) string {
	if n == 1 || n == -1 {
		return fmt.Sprintf("%d day", n)
	}
	return fmt.Sprintf("%d days", n)
}

// ratio formats a metric with two decimals, or more when two would round
// it onto the other side of its target — "0.80 of 0.80 needed" would
// contradict itself, so 0.799 shows as 0.799.
func ratio(v, target float64) string {
	met := meets(v, target)
	for p := 2; p < 6; p++ {
		s := strconv.FormatFloat(v, 'f', p, 64)
		shown, _ := strconv.ParseFloat(s, 64)
		if meets(shown, target) == met {
			return s
		}
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// eps absorbs floating-point error in ratios computed by division, so that
// 0.1*8 counts as the 0.8 it is meant to be.
const eps = 1e-9

// meets reports whether a metric reaches its target (≥).
func meets(v, target float64) bool { return v >= target-eps }
