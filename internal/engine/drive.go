package engine

import (
	"context"
	"errors"
	"time"
)

// Drive moves clock through the instants from, next(from), … up to and
// including to (next is a step: a day in the workspace's calendar, an hour), and at each one lets the engine do what a running server
// would have done by then: the usage engine (when not nil) flushes, which
// recomputes every account's usage metrics on a new day, then the assessor
// steps, which reassesses what changed. at, when not nil, is called after
// each instant. `tend simulate` and the demo's history run on it; it is
// the same code a live server runs, on a clock that jumps.
func Drive(ctx context.Context, clock *ManualClock, u *Usage, a *Assessor, from, to time.Time,
	next func(time.Time) time.Time, at func(time.Time) error) error {
	for t := from; !t.After(to); {
		if err := ctx.Err(); err != nil {
			return err
		}
		clock.Set(t)
		if u != nil {
			if err := u.Flush(ctx); err != nil {
				return err
			}
		}
		if err := a.Step(ctx); err != nil {
			return err
		}
		if at != nil {
			if err := at(t); err != nil {
				return err
			}
		}
		n := next(t)
		if !n.After(t) {
			return errors.New("engine.Drive: a step must move the clock forward")
		}
		t = n
	}
	return nil
}
