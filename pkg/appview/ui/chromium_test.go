package ui

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium, as in test/e2e (test/stack/install.sh).
const chromiumPath = "/usr/bin/chromium"

// screenshotDir is var/e2e/screenshots at the repository's root.
var screenshotDir = filepath.Join("..", "..", "..", "var", "e2e", "screenshots")

// chromium is a headless Chromium for one test.
type chromium struct {
	t   *testing.T
	ctx context.Context
}

// startChromium starts headless Chromium (closed when the test ends), or
// skips the test where it is not installed, except under `make test`
// (ATCR_REQUIRE_CHROMIUM=1), which installs it first.
func startChromium(t *testing.T) *chromium {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("ATCR_REQUIRE_CHROMIUM") != "" {
			t.Fatalf("%s is missing (test/stack/install.sh installs it)", chromiumPath)
		}
		t.Skipf("%s is missing (test/stack/install.sh installs it)", chromiumPath)
	}
	if testing.Short() {
		t.Skip("starts a browser")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(1200, 900),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
	)
	// Chromium now and then exits during start-up on this VM ("chrome failed
	// to start" with nothing but its usual warnings); a fresh process starts.
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		// A profile of its own: a process that died may have left its lock.
		attemptOpts := append(opts[:len(opts):len(opts)], chromedp.UserDataDir(t.TempDir()))
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), attemptOpts...)
		ctx, cancel := chromedp.NewContext(actx)
		if err = chromedp.Do(ctx); err == nil {
			t.Cleanup(cancelAlloc)
			t.Cleanup(cancel)
			return &chromium{t: t, ctx: ctx}
		}
		cancel()
		cancelAlloc()
		t.Logf("start chromium, attempt %d: %v", attempt, err)
	}
	t.Fatalf("start chromium: %v", err)
	return nil
}

// step runs actions, failing the test with what after 30 s or an error.
func (c *chromium) step(what string, steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	sctx, scancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer scancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
}

// shoot saves a full-page screenshot as screenshotDir/name and logs its path.
func (c *chromium) shoot(name string) {
	c.t.Helper()
	sctx, scancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer scancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		c.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		c.t.Fatal(err)
	}
	path, _ := filepath.Abs(filepath.Join(screenshotDir, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		c.t.Fatal(err)
	}
	c.t.Logf("screenshot: %s", path)
}
