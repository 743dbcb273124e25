package jetstream

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"
)

// countingHandler applies nothing: what the benchmark measures is the
// consumer (websocket reads, decoding, checks, queue, hand-off).
type countingHandler struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (h *countingHandler) HandleCommit(context.Context, Commit) error {
	if h.n.Add(1) == h.want {
		close(h.done)
	}
	return nil
}

type nopCursors struct{}

func (nopCursors) LoadCursor(context.Context) (int64, error) { return 0, nil }
func (nopCursors) SaveCursor(context.Context, int64) error   { return nil }

// BenchmarkConsumer streams b.N io.atcr.manifest create events of the size
// the real stack emits (about 600 bytes) over a loopback websocket into a
// handler that does nothing; events/s is the consumer's ceiling.
//
//	go test -run '^$' -bench Consumer -benchtime 20000x ./pkg/appview/jetstream/
func BenchmarkConsumer(b *testing.B) {
	f := newFakeJetstream(b)
	msgs := make([][]byte, 1000)
	for i := range msgs {
		m := manifestMsg(fmt.Sprintf("3m%011d", i), base+int64(i)+1)
		// A manifest record's usual fields, so the message has a real size.
		m = strings.Replace(m, `"createdAt"`, `"repository":"library/alpine","mediaType":"application/vnd.oci.image.manifest.v1+json","holdDid":"did:web:hold.example.com","manifestBlob":{"$type":"blob","ref":{"$link":"`+testCID+`"},"mimeType":"application/vnd.oci.image.manifest.v1+json","size":1234},"createdAt"`, 1)
		msgs[i] = []byte(m)
	}
	h := &countingHandler{want: int64(b.N), done: make(chan struct{})}
	c, err := New(Options{URL: f.url(), Logger: quietLogger()}, h, nopCursors{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runDone := make(chan error, 1)
	go func() { runDone <- c.Run(ctx) }()
	conn := f.next(b)
	b.SetBytes(int64(len(msgs[0])))
	b.ResetTimer()
	go func() {
		for i := range b.N {
			if err := conn.ws.WriteMessage(websocket.TextMessage, msgs[i%len(msgs)]); err != nil {
				return
			}
		}
	}()
	<-h.done
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	cancel()
	<-runDone
}
