package ingest

import (
	"bytes"
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
		if company := Member(e.Traits, "company"); len(company) > 0 && company[0] == '{' {
			return idValue(Value(Member(company, "id")))
		}
	}
	return ""
}

// Property returns the named member of the call's properties as
// encoding/json decodes it into an any, with numbers as json.Number so
// that they keep every digit; nil when there is none.
func (e *Event) Property(name string) any { return Value(Member(e.Properties, name)) }

// Trait returns the named member of the call's traits, as Property does.
func (e *Event) Trait(name string) any { return Value(Member(e.Traits, name)) }

// Member returns the raw value of the member of a JSON object with the
// name, as decoding the object into a map finds it (the name exactly; the
// last repeat wins); nil when there is none, or obj is not an object.
func Member(obj json.RawMessage, name string) json.RawMessage {
	if len(obj) == 0 || obj[0] != '{' {
		return nil
	}
	var v []byte
	eachMember(obj, func(key, val []byte) {
		if keyIs(key, name) {
			v = val
		}
	})
	return v
}

// Value decodes a raw JSON value as encoding/json decodes it into an any,
// with numbers as json.Number; nil for nil or null.
func Value(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	switch raw[0] {
	case '"':
		return unquote(raw)
	case 'n':
		return nil
	case 't':
		return true
	case 'f':
		return false
	case '{', '[':
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		_ = dec.Decode(&v) // raw is valid JSON
		return v
	}
	return json.Number(raw)
}

// Objects returns the properties and traits of a stored call (its raw
// JSON, as accepted), read as DecodeBatch reads them.
func Objects(raw json.RawMessage) (properties, traits json.RawMessage) {
	var w wireEvent
	if len(raw) > 0 && raw[0] == '{' && json.Valid(raw) {
		_ = w.read(raw)
	}
	return w.Properties, w.Traits
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
	s, _ := e.Trait("email").(string)
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
