package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"atcr.io/internal/gobuildcache"
)

func main() {
	addrFile := flag.String("addr-file", "", "write the listening address (host:port) here")
	gocache := flag.String("gocache", "", "also serve this Go build cache, read-only, under /_gocache/")
	flag.Parse()
	if flag.NArg() != 1 || *addrFile == "" {
		fmt.Fprintln(os.Stderr, "usage: modproxy -addr-file FILE [-gocache GOCACHE] DIR")
		os.Exit(2)
	}
	dir := flag.Arg(0)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		slog.Error("modproxy: not a directory", "dir", dir, "err", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		slog.Error("modproxy: listen", "err", err)
		os.Exit(1)
	}
	// Written after Listen, so a reader that sees the file can connect.
	if err := os.WriteFile(*addrFile, []byte(ln.Addr().String()), 0o644); err != nil {
		slog.Error("modproxy: write address", "err", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(dir)))
	if *gocache != "" {
		// A module path's first element has a dot, so no module lives here.
		mux.Handle("/_gocache/", http.StripPrefix("/_gocache", gobuildcache.Handler(gobuildcache.Dir(*gocache))))
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.Serve(ln); err != nil {
		slog.Error("modproxy: serve", "err", err)
		os.Exit(1)
	}
}
