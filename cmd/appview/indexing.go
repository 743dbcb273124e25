package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"

	"atcr.io/pkg/appview/backfill"
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/index"
	"atcr.io/pkg/appview/jetstream"
	"atcr.io/pkg/config"
)

// indexCloseTimeout bounds the last writes of the index at shutdown: the
// pending Jetstream batch and the pull/push counters.
const indexCloseTimeout = 5 * time.Second

// indexing is the UI index and, when jetstream.url is set, the Jetstream
// consumer feeding it, with the backfills of the accounts it meets first.
type indexing struct {
	Store     *index.Store
	database  *db.DB
	consumer  *jetstream.Consumer
	sink      *index.JetstreamSink
	firstSeen *backfill.Scheduler // nil without a consumer or a directory
	log       *slog.Logger
	wg        sync.WaitGroup
}

// backfillDeps is what the backfill of first-seen accounts needs: the
// shared identity directory and the guarded HTTP client. A nil Directory
// turns it off.
type backfillDeps struct {
	Directory  identity.Directory
	HTTPClient *http.Client
}

// openIndex opens the index over database and builds the consumer when
// jetstream.url is set, and with bf.Directory the scheduler that backfills
// every account (or hold) the consumer meets for the first time; start
// runs them.
func openIndex(cfg *config.AppViewConfig, database *db.DB, logger *slog.Logger, bf backfillDeps) (*indexing, error) {
	if logger == nil {
		logger = slog.Default()
	}
	ix := &indexing{Store: index.New(database, index.Options{Logger: logger}), database: database, log: logger}
	if cfg.Jetstream.URL == "" {
		logger.Info("Jetstream consumer off (jetstream.url is empty): the index holds only this AppView's own writes and backfills")
		return ix, nil
	}
	sinkOpts := index.SinkOptions{Logger: logger}
	if bf.Directory != nil {
		backfiller, err := backfill.New(backfill.Options{Directory: bf.Directory, HTTPClient: bf.HTTPClient, Index: ix.Store, Logger: logger})
		if err != nil {
			ix.Store.Close(context.Background())
			return nil, err
		}
		ix.firstSeen = backfill.NewScheduler(backfiller, backfill.SchedulerOptions{Logger: logger})
		sinkOpts.DIDs = ix.firstSeen
	}
	ix.sink = index.NewJetstreamSink(ix.Store, sinkOpts)
	consumer, err := jetstream.New(jetstream.Options{
		URL:                cfg.Jetstream.URL,
		Rewind:             cfg.Jetstream.Rewind,
		MaxBackoff:         cfg.Jetstream.MaxBackoff,
		MaxMessageBytes:    int64(cfg.Jetstream.MaxMessageBytes),
		QueueBytes:         int64(cfg.Jetstream.QueueBytes),
		CursorSaveInterval: cfg.Jetstream.CursorSaveInterval,
		Logger:             logger,
	}, ix.sink, ix.sink)
	if err != nil {
		ix.Store.Close(context.Background())
		return nil, err
	}
	ix.consumer = consumer
	return ix, nil
}

// start runs the consumer until ctx ends. With AppViews sharing a
// PostgreSQL database, one of them at a time runs it (db.RunExclusive);
// the first-seen scheduler runs everywhere but gets work only from the
// consumer's sink, so only on that AppView.
func (ix *indexing) start(ctx context.Context) {
	if ix.consumer == nil {
		return
	}
	if ix.firstSeen != nil {
		ix.firstSeen.Start(ctx)
	}
	ix.wg.Add(1)
	go func() {
		defer ix.wg.Done()
		ix.database.RunExclusive(ctx, "jetstream consumer", db.ExclusiveOptions{Logger: ix.log}, func(ctx context.Context) {
			if err := ix.consumer.Run(ctx); err != nil {
				ix.log.Error("Jetstream consumer stopped", "err", err)
			}
		})
	}()
}

// close waits for the consumer (its context must have ended), writes what
// is pending, logs the counters and stops the index. The database stays
// open: it belongs to the caller, who closes it after this.
func (ix *indexing) close(ctx context.Context) {
	ix.wg.Wait()
	if ix.firstSeen != nil {
		// A backfill cut short is done again: its account still has no
		// rows the next time the consumer meets it.
		ix.firstSeen.Close()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), indexCloseTimeout)
	defer cancel()
	if ix.sink != nil {
		if err := ix.sink.Close(ctx); err != nil {
			ix.log.Warn("Index: the last Jetstream batch was not written (it comes again after the rewind)", "err", err)
		}
		js, sk := ix.consumer.Stats(), ix.sink.Stats()
		ix.log.Info("Jetstream consumer stopped",
			"events", js.Events, "commits", js.Commits, "invalid_messages", js.Invalid, "ignored", js.Ignored,
			"rejected", js.Rejected, "handler_errors", js.HandlerErrors, "reconnects", js.Reconnects,
			"cursor", js.SavedCursor, "batches", sk.Batches, "indexed", sk.Applied, "invalid_records", sk.Invalid,
			"fallbacks", sk.Fallbacks, "failed", sk.Failed, "first_seen", sk.FirstSeen)
	}
	if err := ix.Store.Close(ctx); err != nil {
		ix.log.Warn("Index: pull/push counters not written", "err", err)
	}
}

// healthStatus is the body of GET /health.
type healthStatus struct {
	Status    string           `json:"status"`
	Jetstream *jetstreamHealth `json:"jetstream,omitempty"`
}

// jetstreamHealth is the consumer's and the sink's counters.
type jetstreamHealth struct {
	jetstream.Stats
	LagSeconds float64         `json:"lagSeconds"`
	Index      index.SinkStats `json:"index"`
	// Backfill is the first-seen backfills' counters.
	Backfill *backfill.SchedulerStats `json:"backfill,omitempty"`
}

// healthHandler answers GET /health: {"status":"ok"} and, when the
// consumer runs, its counters.
func (ix *indexing) healthHandler() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body := healthStatus{Status: "ok"}
		if ix.consumer != nil {
			js := ix.consumer.Stats()
			body.Jetstream = &jetstreamHealth{Stats: js, LagSeconds: js.Lag.Seconds(), Index: ix.sink.Stats()}
			if ix.firstSeen != nil {
				bs := ix.firstSeen.Stats()
				body.Jetstream.Backfill = &bs
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(body)
	}
}
