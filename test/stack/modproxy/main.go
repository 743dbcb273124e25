package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	addrFile := flag.String("addr-file", "", "write the listening address (host:port) here")
	flag.Parse()
	if flag.NArg() != 1 || *addrFile == "" {
		fmt.Fprintln(os.Stderr, "usage: modproxy -addr-file FILE DIR")
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
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 10 * time.Second}
	if err := srv.Serve(ln); err != nil {
		slog.Error("modproxy: serve", "err", err)
		os.Exit(1)
	}
}
