package main

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestRedisCallsEndAtTheirDeadline: a Redis that accepts connections and
// never answers (a paused server, a network black hole) must cost a call
// no more than its context allows. Without ContextTimeoutEnabled go-redis
// waits for its own read timeout (3 s) whatever the context says.
func TestRedisCallsEndAtTheirDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c) }() // read everything, answer nothing
		}
	}()
	opt, err := redisOptions("redis://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		start := time.Now()
		err := rdb.Get(ctx, "atcr:anything").Err()
		took := time.Since(start)
		cancel()
		if err == nil {
			t.Fatal("a silent server answered")
		}
		// Far below go-redis's own 3 s read timeout, with room for a
		// loaded machine.
		if took > 1500*time.Millisecond {
			t.Fatalf("GET with a 200ms deadline took %v (err %v)", took, err)
		}
	}
	// A call without a deadline ends after redisCallTimeout, not
	// go-redis's 5 s.
	start := time.Now()
	if err := rdb.Get(context.Background(), "atcr:anything").Err(); err == nil {
		t.Fatal("a silent server answered")
	}
	if took := time.Since(start); took > redisCallTimeout+1500*time.Millisecond {
		t.Fatalf("GET without a deadline took %v, want about %v", took, redisCallTimeout)
	}
}

func TestRedisURLTimeoutsWin(t *testing.T) {
	opt, err := redisOptions("redis://127.0.0.1:6379?read_timeout=7s&write_timeout=8s")
	if err != nil {
		t.Fatal(err)
	}
	if opt.ReadTimeout != 7*time.Second || opt.WriteTimeout != 8*time.Second || !opt.ContextTimeoutEnabled {
		t.Fatalf("options %v/%v/%v", opt.ReadTimeout, opt.WriteTimeout, opt.ContextTimeoutEnabled)
	}
}

func TestRedisOptionsRefusesABadURL(t *testing.T) {
	if _, err := redisOptions("http://127.0.0.1:6379"); err == nil {
		t.Fatal("an http:// URL was taken as Redis")
	}
}
