package index

import (
	"fmt"
	"testing"
	"time"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/jetstream"
	"atcr.io/pkg/atproto/atcr"
)

// applyAll writes events in batches of 500.
func (e *env) applyAll(b testing.TB, events []Event) {
	b.Helper()
	for start := 0; start < len(events); start += 500 {
		res, err := e.store.Apply(e.ctx, Batch{Events: events[start:min(start+500, len(events))]})
		if err != nil || len(res.Invalid) != 0 {
			b.Fatalf("apply: %v %+v", err, res.Invalid)
		}
	}
}

// The repository page of a repository with 1,000 tags (it shows the newest
// MaxPageTags), every fourth an index of two platforms. Target: under 30 ms.
func BenchmarkRepositoryPage1000Tags(b *testing.B) {
	e := newEnv(b, db.EngineSQLite)
	var events []Event
	for i := range 1000 {
		var m *atcr.Manifest
		if i%4 == 0 {
			m = indexManifest("big/app", i, time.Duration(i)*time.Second, 100000+2*i, 100001+2*i)
		} else {
			m = imageManifest("big/app", i, time.Duration(i)*time.Second)
		}
		events = append(events,
			Event{Record: rec(b, alice, tid(i), m)},
			Event{Record: tagRecord(b, alice, "big/app", fmt.Sprintf("v%d", i), tid(i), time.Duration(i)*time.Second)})
	}
	e.applyAll(b, events)
	b.ResetTimer()
	for b.Loop() {
		page, err := e.store.RepositoryPage(e.ctx, alice, "big/app")
		if err != nil || len(page.Tags) != MaxPageTags || page.TagCount != 1000 || len(page.Tags[0].Platforms)+len(page.Tags[3].Platforms) != 2 {
			b.Fatalf("page: %d of %d tags, %v", len(page.Tags), page.TagCount, err)
		}
	}
}

// Search over 10,000 repositories of 500 owners. Target: under 20 ms.
func BenchmarkSearch10000Repositories(b *testing.B) {
	e := newEnv(b, db.EngineSQLite)
	words := []string{"web", "api", "worker", "cache", "proxy", "db", "cli", "agent", "queue", "auth"}
	var events []Event
	for i := range 10000 {
		owner := fmt.Sprintf("did:plc:owner%03d", i%500)
		m := imageManifest(fmt.Sprintf("%s-%s/svc%d", words[i%10], words[(i/10)%10], i), i, time.Duration(i)*time.Second)
		m.Annotations = map[string]any{"org.opencontainers.image.description": fmt.Sprintf("The %s %s service number %d", words[(i/7)%10], words[(i/3)%10], i)}
		events = append(events, Event{Record: rec(b, owner, tid(i), m)})
	}
	e.applyAll(b, events)
	for i := range 500 {
		if err := e.store.SetHandle(e.ctx, fmt.Sprintf("did:plc:owner%03d", i), fmt.Sprintf("owner%03d.example.com", i)); err != nil {
			b.Fatal(err)
		}
	}
	for _, q := range []string{"web", "cache proxy", "owner042", "svc9999", "service", "nothing-matches"} {
		b.Run(q, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := e.store.SearchRepositories(e.ctx, q, Page{Limit: 20}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Put throughput: one transaction per event (Put), and Jetstream-sized
// batches (Apply). Target: at least 2,000 events/s. The events are a
// Jetstream mix: per image push a manifest and a tag, plus a star.
func BenchmarkIndexEvents(b *testing.B) {
	mix := func(b *testing.B, n int) []Event {
		var out []Event
		for i := 0; len(out) < n; i++ {
			owner := fmt.Sprintf("did:plc:user%04d", i%1000)
			repo := fmt.Sprintf("repo%d", i%50)
			out = append(out,
				Event{Record: rec(b, owner, tid(i), imageManifest(repo, i, time.Duration(i)*time.Second))},
				Event{Record: tagRecord(b, owner, repo, fmt.Sprintf("t%d", i), tid(i), time.Duration(i)*time.Second)},
				Event{Record: starRecord(b, owner, tid(i+1<<20), "did:plc:user0000", "repo0")})
		}
		return out[:n]
	}
	b.Run("Put", func(b *testing.B) {
		e := newEnv(b, db.EngineSQLite)
		events := mix(b, b.N)
		b.ResetTimer()
		for i := range b.N {
			if err := e.store.Put(e.ctx, events[i].Record); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("Apply100", func(b *testing.B) {
		e := newEnv(b, db.EngineSQLite)
		events := mix(b, b.N)
		b.ResetTimer()
		for start := 0; start < len(events); start += 100 {
			if _, err := e.store.Apply(e.ctx, Batch{Events: events[start:min(start+100, len(events))], CursorUS: int64(start + 1)}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	// Through the Jetstream sink (batches of 100), without and with a
	// DIDWatcher: the watcher adds one UnseenDIDs query per batch for the
	// DIDs the sink has not met yet (1,000 owners here).
	for _, watch := range []bool{false, true} {
		b.Run(fmt.Sprintf("Sink100/watcher=%v", watch), func(b *testing.B) {
			e := newEnv(b, db.EngineSQLite)
			commits := make([]jetstream.Commit, 0, b.N)
			for i, ev := range mix(b, b.N) {
				commits = append(commits, commit(b, ev.Record, int64(i+1)))
			}
			opts := SinkOptions{MaxBatch: 100, Window: time.Hour}
			if watch {
				opts.DIDs = &notices{}
			}
			k := NewJetstreamSink(e.store, opts)
			b.ResetTimer()
			for _, c := range commits {
				if err := k.HandleCommit(e.ctx, c); err != nil {
					b.Fatal(err)
				}
			}
			if err := k.Flush(e.ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
