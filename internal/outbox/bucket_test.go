package outbox

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A rate-limited channel waits for a token only while the claim leaves
// time to send: a token that would come too late is not taken, so the
// message released for another worker does not cost the channel a send.
func TestBucketDeadline(t *testing.T) {
	b := newBucket(2) // 2 a second, a burst of 2
	ctx := context.Background()
	far := time.Now().Add(time.Hour)
	for i := range 2 {
		if err := b.wait(ctx, far); err != nil {
			t.Fatalf("token %d of the burst: %v", i+1, err)
		}
	}
	start := time.Now()
	if err := b.wait(ctx, time.Now().Add(100*time.Millisecond)); !errors.Is(err, errNoToken) {
		t.Fatalf("a token due in ~500 ms before a 100 ms deadline: %v, want errNoToken", err)
	}
	if waited := time.Since(start); waited > 300*time.Millisecond {
		t.Errorf("refusing took %v: it should not wait", waited)
	}
	// The refused wait took nothing: the next token comes on time.
	start = time.Now()
	if err := b.wait(ctx, far); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited > 2*time.Second || waited < 300*time.Millisecond {
		t.Errorf("the next token took %v, want about 500 ms", waited)
	}
	// A cancelled wait ends with the context's error.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.wait(cctx, far); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
}
