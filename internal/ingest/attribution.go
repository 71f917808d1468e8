package ingest

import (
	"encoding/json"
	"strings"
)

// AccountGroupID returns the group id the event attributes to, which the
// usage layer looks up as an account's analytics id or external id; "" when
// the event names none. In order:
//
//   - a group call's groupId: the call that links a user to an account;
//   - context.groupId on any call, the Segment convention for attributing
//     a track or page to the account the user acted in;
//   - an identify's traits.company.id, the Segment spec's reserved trait
//     for the user's company.
func (e *Event) AccountGroupID() string {
	if e.Type == Group && e.GroupID != "" {
		return e.GroupID
	}
	if id := contextGroupID(e.Context); id != "" {
		return id
	}
	if e.Type == Identify {
		if company, ok := e.Traits["company"].(map[string]any); ok {
			return idValue(company["id"])
		}
	}
	return ""
}

// Email returns the email address an identify call gives its user
// (traits.email), trimmed, for linking the user to a contact; "" for any
// other call or when there is none. Only identify traits describe the
// user: a group call's traits describe the account, so an email there is
// the company's, not the user's.
func (e *Event) Email() string {
	if e.Type != Identify {
		return ""
	}
	s, _ := e.Traits["email"].(string)
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "@") {
		return ""
	}
	return s
}

// idValue reads an id that senders write as a string or a number.
func idValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// contextGroupID reads groupId from a context object (valid JSON or nil).
func contextGroupID(ctx json.RawMessage) string {
	if len(ctx) == 0 {
		return ""
	}
	var id string
	eachMember(ctx, func(key, val []byte) {
		if keyIs(key, "groupId") {
			var v scalar
			_ = v.UnmarshalJSON(val)
			id, _ = v.id()
		}
	})
	return id
}
