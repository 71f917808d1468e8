package links_test

import (
	"strings"
	"testing"

	"github.com/tendhq/tend/internal/links"
)

func TestLinks(t *testing.T) {
	s := links.New([]byte("0123456789abcdef0123456789abcdef"), "https://tend.example/")
	u := s.UnsubscribeURL(7, 42, "admin_onboarding")
	tok, ok := strings.CutPrefix(u, "https://tend.example/u/")
	if !ok {
		t.Fatalf("unsubscribe URL %q", u)
	}
	c, err := s.Parse(tok)
	if err != nil || c != (links.Claim{Kind: links.KindUnsubscribe, AccountID: 7, ContactID: 42, Campaign: "admin_onboarding"}) {
		t.Fatalf("Parse = %+v, %v", c, err)
	}
	sv := s.SurveyURL(7, 42, "checkin", "cp:checkin:7:x:1:survey:42")
	tok = strings.TrimPrefix(sv, "https://tend.example/s/")
	if c, err := s.Parse(tok); err != nil || c.Kind != links.KindSurvey || c.Key != "cp:checkin:7:x:1:survey:42" {
		t.Fatalf("survey Parse = %+v, %v", c, err)
	}
	// Altered, truncated, foreign, garbage: all refused.
	payload, sig, _ := strings.Cut(tok, ".")
	other := links.New([]byte("another secret of thirty-two b.."), "")
	for name, bad := range map[string]string{
		"another contact": strings.Split(s.Token(links.Claim{Kind: links.KindSurvey, AccountID: 7, ContactID: 43}), ".")[0] + "." + sig,
		"no signature":    payload,
		"cut signature":   payload + "." + sig[:10],
		"foreign secret":  other.Token(links.Claim{Kind: links.KindUnsubscribe, AccountID: 7, ContactID: 42}),
		"garbage":         "!!!.???",
		"empty":           "",
		"unknown kind":    s.Token(links.Claim{Kind: "x", AccountID: 7, ContactID: 42}),
		"no contact":      s.Token(links.Claim{Kind: links.KindUnsubscribe, AccountID: 7}),
	} {
		if _, err := s.Parse(bad); err != links.ErrBadLink {
			t.Errorf("%s: Parse = %v, want ErrBadLink", name, err)
		}
	}
}
