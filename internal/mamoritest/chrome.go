package mamoritest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// RequireBrowserEnv makes a missing Chromium a test failure instead of a
// skip (CI sets it, so browser tests cannot silently not run).
const RequireBrowserEnv = "MAMORI_REQUIRE_BROWSER"

// Chrome starts Debian's headless Chromium for a test and returns a context
// driving one tab. Without Chromium the test is skipped, or fails when
// MAMORI_REQUIRE_BROWSER is set.
func Chrome(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, p := range []string{os.Getenv("MAMORI_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv(RequireBrowserEnv) != "" {
			t.Fatal("Chromium is required (MAMORI_REQUIRE_BROWSER is set) but not installed: run bash scripts/test-deps.sh")
		}
		t.Skip("Chromium is not installed (bash scripts/test-deps.sh installs Debian's chromium)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "ja"),
		chromedp.Flag("accept-lang", "ja-JP,ja"),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first call starts the browser, with no timeout of its own (a
	// timeout on it would stop the whole browser).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	tctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelTimeout)
	return tctx
}
