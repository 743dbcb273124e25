package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"atcr.io/internal/gobuildcache"
)

// request and response are cmd/go/internal/cacheprog's Request and Response
// (that package is internal to the go command).
type request struct {
	ID       int64
	Command  string
	ActionID []byte `json:",omitempty"`
	OutputID []byte `json:",omitempty"`
	BodySize int64  `json:",omitempty"`
}

type response struct {
	ID            int64
	Err           string     `json:",omitempty"`
	KnownCommands []string   `json:",omitempty"`
	Miss          bool       `json:",omitempty"`
	OutputID      []byte     `json:",omitempty"`
	Size          int64      `json:",omitempty"`
	Time          *time.Time `json:",omitempty"`
	DiskPath      string     `json:",omitempty"`
}

func main() {
	url := flag.String("url", "", "read-only HTTP build cache to ask on a local miss (modproxy's …/_gocache/)")
	dir := flag.String("dir", "", "local cache directory (default $GOCACHE/gocacheprog)")
	flag.Parse()
	if *dir == "" {
		gocache := os.Getenv("GOCACHE")
		if gocache == "" {
			fmt.Fprintln(os.Stderr, "gocacheprog: -dir or GOCACHE is required")
			os.Exit(2)
		}
		*dir = filepath.Join(gocache, "gocacheprog")
	}
	c := &cache{local: gobuildcache.Dir(*dir), remote: newRemote(*url)}
	if err := c.serve(os.Stdin, os.Stdout); err != nil {
		slog.Error("gocacheprog", "err", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "gocacheprog: %d gets: %d local, %d from %s, %d misses; %d puts; %d remote errors\n",
		c.gets.Load(), c.localHits.Load(), c.remoteHits.Load(), *url, c.misses.Load(), c.puts.Load(), c.remote.errors.Load())
}

type cache struct {
	local  gobuildcache.Dir
	remote *remote

	gets, localHits, remoteHits, misses, puts atomic.Int64
}

// serve answers the go command's requests from in until "close" or EOF.
// Requests are answered concurrently (the go command keeps many in flight),
// each response written whole under one lock.
func (c *cache) serve(in io.Reader, out io.Writer) error {
	bw := bufio.NewWriter(out)
	enc := json.NewEncoder(bw)
	var mu sync.Mutex
	reply := func(r *response) {
		mu.Lock()
		defer mu.Unlock()
		if err := enc.Encode(r); err == nil {
			bw.Flush()
		}
	}
	reply(&response{KnownCommands: []string{"get", "put", "close"}})

	dec := json.NewDecoder(bufio.NewReader(in))
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read request: %w", err)
		}
		var body []byte
		if req.Command == "put" && req.BodySize > 0 {
			// The body follows as a JSON string of base64, which
			// encoding/json decodes into a []byte.
			if err := dec.Decode(&body); err != nil {
				return fmt.Errorf("read body of put %d: %w", req.ID, err)
			}
		}
		if req.Command == "close" {
			wg.Wait()
			reply(&response{ID: req.ID})
			return nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			reply(c.handle(&req, body))
		}()
	}
}

func (c *cache) handle(req *request, body []byte) *response {
	res := &response{ID: req.ID}
	var action gobuildcache.ID
	if copy(action[:], req.ActionID) != gobuildcache.HashSize {
		res.Err = fmt.Sprintf("%s: action ID of %d bytes", req.Command, len(req.ActionID))
		return res
	}
	var e gobuildcache.Entry
	var err error
	switch req.Command {
	case "get":
		e, err = c.get(action)
		if errors.Is(err, gobuildcache.ErrMissing) {
			c.misses.Add(1)
			res.Miss = true
			return res
		}
	case "put":
		c.puts.Add(1)
		var output gobuildcache.ID
		if copy(output[:], req.OutputID) != gobuildcache.HashSize || int64(len(body)) != req.BodySize {
			res.Err = "put: malformed output ID or body"
			return res
		}
		e, err = c.local.Put(action, output, bytes.NewReader(body), req.BodySize)
	default:
		res.Err = fmt.Sprintf("unknown command %q", req.Command)
		return res
	}
	if err != nil {
		res.Err = err.Error()
		return res
	}
	res.OutputID, res.Size, res.Time, res.DiskPath = e.Output[:], e.Size, &e.Time, e.Path
	return res
}

// get looks in the local directory, then asks the remote and keeps what it
// gives.
func (c *cache) get(action gobuildcache.ID) (gobuildcache.Entry, error) {
	c.gets.Add(1)
	e, err := c.local.Get(action)
	if err == nil {
		c.localHits.Add(1)
		return e, nil
	}
	if !errors.Is(err, gobuildcache.ErrMissing) {
		return e, err
	}
	e, err = c.remote.fetch(action, c.local)
	if err == nil {
		c.remoteHits.Add(1)
	}
	return e, err
}
