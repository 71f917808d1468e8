package lifecycle

import "fmt"

// Reason explains a decision to the people who read it, with the values
// that made it. Rule names the rule that decided (for history and filters);
// Text is the sentence shown.
type Reason struct {
	Rule string `json:"rule"`
	Text string `json:"text"`
}

// String returns the reason's text.
func (r Reason) String() string { return r.Text }

// Segment returns the segment for an account's estimated developer count.
// An unknown count (0) is Commercial, as the handbook's "0 - 1.5k devs"
// includes it; the reason says so.
func Segment(r Rules, developers int) (string, Reason) {
	switch {
	case developers >= r.StrategicMinDevelopers:
		return Strategic, Reason{"segment.strategic", fmt.Sprintf(
			"Strategic: %s estimated developers (%s or more)",
			thousands(int64(developers)), thousands(int64(r.StrategicMinDevelopers)))}
	case developers >= r.EnterpriseMinDevelopers:
		return Enterprise, Reason{"segment.enterprise", fmt.Sprintf(
			"Enterprise: %s estimated developers (%s to %s)",
			thousands(int64(developers)), thousands(int64(r.EnterpriseMinDevelopers)),
			thousands(int64(r.StrategicMinDevelopers-1)))}
	case developers <= 0:
		return Commercial, Reason{"segment.commercial", fmt.Sprintf(
			"Commercial: no estimated developer count (under %s counts as Commercial)",
			thousands(int64(r.EnterpriseMinDevelopers)))}
	default:
		return Commercial, Reason{"segment.commercial", fmt.Sprintf(
			"Commercial: %s estimated developers (under %s)",
			thousands(int64(developers)), thousands(int64(r.EnterpriseMinDevelopers)))}
	}
}

// Program returns the program for an account of segment with arr (whole US
// dollars) under the rules' one program rule: Scaled Success when it
// matches, Managed otherwise.
func Program(r Rules, segment string, arr int64) (string, Reason) {
	p := r.Program
	side, not := "under", "not under"
	if p.Direction == Above {
		side, not = "over", "not over"
	}
	if segment != p.Segment {
		seg := segment
		if seg == "" {
			seg = "no segment"
		}
		return Managed, Reason{"program.managed", fmt.Sprintf(
			"Managed: %s (Scaled Success is for %s accounts with ARR %s %s)",
			seg, p.Segment, side, dollars(p.ARRThreshold))}
	}
	match := arr < p.ARRThreshold
	if p.Direction == Above {
		match = arr > p.ARRThreshold
	}
	if match {
		return ScaledSuccess, Reason{"program.scaled_success", fmt.Sprintf(
			"Scaled Success: %s with ARR %s, %s %s",
			segment, dollars(arr), side, dollars(p.ARRThreshold))}
	}
	return Managed, Reason{"program.managed", fmt.Sprintf(
		"Managed: %s but ARR %s is %s %s",
		segment, dollars(arr), not, dollars(p.ARRThreshold))}
}
