package outbox

import (
	"context"
	"errors"
	"net/http"

	"github.com/tendhq/tend/internal/store"
)

// Slack posts messages to Slack incoming webhooks
// (https://api.slack.com/messaging/webhooks). It is safe for concurrent
// use.
type Slack struct {
	// Client defaults to one with a 30-second timeout.
	Client *http.Client
}

// Send implements Sender. Slack answers 200 "ok"; 429 with Retry-After
// when rate-limited (retried no sooner); 400 invalid_payload, 403
// action_prohibited, 404 no_service or channel_not_found, 410
// channel_is_archived, which are permanent: the webhook or the message
// must change first; 5xx, which is retried.
func (s *Slack) Send(ctx context.Context, m *store.OutboxMessage) error {
	if m.Slack == nil {
		return permanent(errors.New("not a Slack message"))
	}
	return post(ctx, s.Client, m.Slack.URL, m.Slack.Body, nil, func(code int) bool {
		return code != http.StatusRequestTimeout && code != http.StatusTooManyRequests
	})
}
