// Package jetstream is the AppView's Jetstream consumer: it reads the v1
// JSON wire (GET <url>/subscribe?wantedCollections=…) of a Jetstream
// instance, decodes commit, identity and account events, and hands them to
// a Handler in order (the UI index implements it).
//
// Delivery is at least once. The cursor is the time_us of the newest event
// the handler has applied; it is loaded from a CursorStore when Run starts
// and saved every Options.CursorSaveInterval and on shutdown, never ahead of
// what the handler has applied. Every (re)connection asks for events from
// the cursor minus Options.Rewind, so handlers must be idempotent (upsert
// and delete keyed by DID, collection and record key).
//
// Where things are:
//
//   - event.go: the events a handler sees (Commit, Identity, Account) and
//     the decoding and checking of one wire message.
//   - handler.go: Handler (with the optional IdentityHandler and
//     AccountHandler), CursorStore and ErrInvalidRecord.
//   - options.go: Options, their defaults and the subscribe URL.
//   - consumer.go: Consumer and Run, the reconnect loop.
//   - session.go: one websocket connection: the reader, the bounded queue
//     and the applier.
//   - backoff.go: capped, jittered exponential backoff.
//   - stats.go: the counters (Stats).
//
// The unit tests drive the consumer with an in-process websocket server;
// stack_test.go (build tag stack, run by make e2e) runs it against a real
// Jetstream v0.2.0 that follows the reference PDS (test/stack/jetstreamtest).
//
// Memory is bounded: a message larger than Options.MaxMessageBytes is
// discarded as it streams in (counted as invalid; the connection stays up),
// and the reader stops reading while the queue between it and the handler
// holds Options.QueueEvents events or Options.QueueBytes bytes, so a slow
// handler slows the stream (TCP backpressure) instead of growing a buffer.
// A message that is not a well-formed event is counted and skipped.
//
// Jetstream gives no proofs: a record that arrives here was not verified
// against its repository's signature. Authoritative data comes from the
// account's PDS (com.atproto.sync.getRepo, verified), not from here.
package jetstream
