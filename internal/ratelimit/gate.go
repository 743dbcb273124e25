package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrLimited is what a refused request's error wraps.
var ErrLimited = errors.New("rate limit exceeded")

// LimitedError is a refusal and how long to wait before trying again.
type LimitedError struct {
	Wait time.Duration
}

func (e *LimitedError) Error() string {
	return fmt.Sprintf("rate limit exceeded; retry in %s", e.Wait.Round(time.Second))
}

// Unwrap makes the error an ErrLimited.
func (e *LimitedError) Unwrap() error { return ErrLimited }

// Gate returns a check that charges one token to the client key of the
// request in ctx (ClientMiddleware) and refuses with refuse(wait) when
// that key is out of tokens; nil refuse returns a *LimitedError. Work no
// request started (no client key) is not limited. It fits
// directory.Options.BeforeFetch: only lookups that leave the process cost
// a token.
func Gate(l *Limiter, refuse func(wait time.Duration) error) func(context.Context) error {
	if refuse == nil {
		refuse = func(wait time.Duration) error { return &LimitedError{Wait: wait} }
	}
	return func(ctx context.Context) error {
		client, ok := ClientFrom(ctx)
		if !ok {
			return nil
		}
		if ok, wait := l.Allow(client); !ok {
			return refuse(wait)
		}
		return nil
	}
}
