package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// check is one named probe. needs names an earlier check of the same SDK
// that must have passed for this one to mean anything.
type check struct {
	name  string
	needs string
	run   func(ctx context.Context) error
}

// reporter prints one line per check and remembers failures.
type reporter struct {
	out    io.Writer
	failed int
}

// runAll runs the checks of one SDK in order. A check whose prerequisite
// failed is reported as failed without running, so the first real cause
// stands out.
func (r *reporter) runAll(ctx context.Context, sdk string, checks []check) {
	passed := map[string]bool{}
	for _, c := range checks {
		var err error
		if c.needs != "" && !passed[c.needs] {
			err = fmt.Errorf("not run: %s failed", c.needs)
		} else {
			err = c.run(ctx)
		}
		if err != nil {
			r.failed++
			fmt.Fprintf(r.out, "FAIL %s %s: %s\n", sdk, c.name, oneLine(err))
			continue
		}
		passed[c.name] = true
		fmt.Fprintf(r.out, "PASS %s %s\n", sdk, c.name)
	}
}

// oneLine keeps each report on a single line whatever the SDK's error text.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// httpClient fetches presigned URLs the way a registry client would: plain
// net/http, no SDK.
var httpClient = &http.Client{Timeout: 30 * time.Second}

// fetchExpect GETs a presigned URL and compares the body with want.
func fetchExpect(ctx context.Context, url string, want []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET returned %s: %.200s", resp.Status, body)
	}
	if !bytes.Equal(body, want) {
		return fmt.Errorf("GET returned %d bytes that differ from the probe", len(body))
	}
	return nil
}

// uploadTo PUTs body to a presigned URL.
func uploadTo(ctx context.Context, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("PUT returned %s: %.200s", resp.Status, msg)
	}
	return nil
}
