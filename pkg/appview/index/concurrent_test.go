package index

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/db/dbtest"
)

// TestConcurrentIndexingOfOneManifest: two writers (one AppView's push
// path and the leader's Jetstream consumer, each its own Store on the one
// database) index the same new manifest and tag at the same moment, in a
// repository new to the index, many times over. On PostgreSQL both
// transactions run at once; neither may fail on a key the other inserted
// (layers, child manifests, repository, annotations, search rows), and the
// index ends as one write leaves it.
func TestConcurrentIndexingOfOneManifest(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newEnv(t, engine)
		other := New(e.db, Options{Now: e.clock.Now, FlushInterval: time.Hour, FlushEvents: 1 << 30})
		t.Cleanup(func() { other.Close(e.ctx) })
		writers := []*Store{e.store, other}
		const rounds = 20
		for i := range rounds {
			repo := fmt.Sprintf("app%d", i)
			m := imageManifest(repo, i, time.Duration(i)*time.Minute)
			m.Annotations = map[string]any{annotationTitle: "App " + repo, annotationDescription: "round " + repo}
			records := []Record{
				rec(t, alice, tid(2*i), m),
				rec(t, alice, tid(2*i+1), indexManifest(repo, 100+i, time.Duration(i)*time.Minute, i)),
				tagRecord(t, alice, repo, "latest", tid(2*i), time.Duration(i)*time.Minute),
			}
			start := make(chan struct{})
			errs := make(chan error, 2*len(records))
			var wg sync.WaitGroup
			for _, w := range writers {
				wg.Go(func() {
					<-start
					for _, r := range records {
						if err := w.Put(e.ctx, r); err != nil {
							errs <- fmt.Errorf("round %d, %s/%s: %w", i, r.Collection, r.RKey, err)
						}
					}
				})
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		}
		var layers, children, repos int
		if err := e.db.SQL().QueryRowContext(e.ctx, `SELECT
				(SELECT count(*) FROM layers WHERE did = ?1),
				(SELECT count(*) FROM manifest_references WHERE did = ?1),
				(SELECT count(*) FROM repositories WHERE did = ?1)`, alice).Scan(&layers, &children, &repos); err != nil {
			t.Fatal(err)
		}
		if layers != 2*rounds || children != rounds || repos != rounds {
			t.Errorf("%d layers, %d child manifests, %d repositories; want %d, %d, %d", layers, children, repos, 2*rounds, rounds, rounds)
		}
	})
}
