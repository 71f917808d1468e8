// Package links makes and checks the signed links Tend puts in campaign
// emails: the one-click unsubscribe link (RFC 8058) and the check-in
// survey link. A link names the contact it is for and carries an
// HMAC-SHA256 of what it says under the server's secret
// (store.Campaigns.Secret), so it works without a session and cannot be
// altered to unsubscribe or answer for someone else.
package links

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// The kinds of link.
const (
	KindUnsubscribe = "u"
	KindSurvey      = "s"
)

// SecretName is the store secret links are signed with.
const SecretName = "links"

// Claim is what a link says.
type Claim struct {
	// Kind is KindUnsubscribe or KindSurvey.
	Kind      string `json:"k"`
	AccountID int64  `json:"a"`
	ContactID int64  `json:"c"`
	Campaign  string `json:"p,omitempty"`
	// Key is the message the link came in (its outbox key): a survey
	// answer is one per message.
	Key string `json:"m,omitempty"`
}

// ErrBadLink is the answer for a link that was not made here or was
// altered.
var ErrBadLink = errors.New("links: this link is not valid: it was not made by this server or was altered")

// Signer makes and checks links.
type Signer struct {
	secret []byte
	base   string
}

// New returns a signer with the secret, for links under baseURL (Tend's
// address, e.g. https://tend.example.com; "" makes paths).
func New(secret []byte, baseURL string) *Signer {
	return &Signer{secret: secret, base: strings.TrimRight(baseURL, "/")}
}

func (s *Signer) mac(payload string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Token signs a claim.
func (s *Signer) Token(c Claim) string {
	b, _ := json.Marshal(c) // a Claim always marshals
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + s.mac(payload)
}

// Parse checks a token and returns its claim.
func (s *Signer) Parse(token string) (Claim, error) {
	payload, sig, ok := strings.Cut(token, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.mac(payload))) {
		return Claim{}, ErrBadLink
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return Claim{}, ErrBadLink
	}
	var c Claim
	if err := json.Unmarshal(b, &c); err != nil || c.ContactID <= 0 || c.AccountID <= 0 ||
		(c.Kind != KindUnsubscribe && c.Kind != KindSurvey) {
		return Claim{}, ErrBadLink
	}
	return c, nil
}

// UnsubscribeURL is the one-click unsubscribe link for a contact: GET shows
// a page with a button, POST (the button, or a mail client's one-click
// request) unsubscribes.
func (s *Signer) UnsubscribeURL(accountID, contactID int64, campaign string) string {
	return s.base + "/u/" + s.Token(Claim{Kind: KindUnsubscribe, AccountID: accountID, ContactID: contactID, Campaign: campaign})
}

// SurveyURL is the check-in survey link for a contact and the message it
// came in.
func (s *Signer) SurveyURL(accountID, contactID int64, campaign, messageKey string) string {
	return s.base + "/s/" + s.Token(Claim{Kind: KindSurvey, AccountID: accountID, ContactID: contactID, Campaign: campaign,
		Key: messageKey})
}
