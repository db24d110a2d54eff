// Package webhook sends mamori's outgoing HTTP notifications. Its first
// use is publishing each signed audit checkpoint to a receiver outside the
// database administrator's control (audit.checkpoint_webhook).
package webhook

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mamori-dev/mamori/internal/audit"
)

// Checkpoints POSTs each signed checkpoint, as the signed note itself
// (text/plain; the C2SP checkpoint format), to a URL.
type Checkpoints struct {
	URL    string
	Client *http.Client
}

// NewCheckpoints returns a publisher for url with a bounded timeout.
func NewCheckpoints(url string) *Checkpoints {
	return &Checkpoints{URL: url, Client: &http.Client{Timeout: 15 * time.Second}}
}

// String names the receiver without its query (which may hold a secret).
func (c *Checkpoints) String() string {
	u, err := url.Parse(c.URL)
	if err != nil {
		return "webhook"
	}
	u.RawQuery, u.User = "", nil
	return "webhook " + u.String()
}

// Publish sends one checkpoint; any answer other than 2xx is an error.
func (c *Checkpoints) Publish(ctx context.Context, cp *audit.Checkpoint) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, strings.NewReader(cp.Note))
	if err != nil {
		return fmt.Errorf("checkpoint webhook: %w", err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	req.Header.Set("User-Agent", "mamori")
	req.Header.Set("X-Mamori-Tree-Size", strconv.FormatUint(cp.Size, 10))
	req.Header.Set("X-Mamori-Origin", cp.Origin)
	res, err := c.Client.Do(req)
	if err != nil {
		return fmt.Errorf("checkpoint webhook: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("checkpoint webhook: %s answered %s", c.String(), res.Status)
	}
	return nil
}
