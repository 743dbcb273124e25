package config

import (
	"net/url"
	"time"
)

// JetstreamConfig configures the AppView's Jetstream consumer, which keeps
// the web UI's index of the network's io.atcr.* records. URL's variable is
// JETSTREAM_URL as the deployment docs name it; the tuning keys carry the
// ATCR_ prefix because the Jetstream server itself refuses to start when it
// finds a JETSTREAM_* variable it does not know.
type JetstreamConfig struct {
	URL                string        `yaml:"url" env:"JETSTREAM_URL" comment:"Jetstream instance the web UI's index follows (wss://host, e.g. wss://jetstream2.us-east.bsky.network; ws:// only for a loopback host or with insecure_local_dev); empty turns the consumer off."`
	Rewind             time.Duration `yaml:"rewind" env:"ATCR_JETSTREAM_REWIND" comment:"How far before the saved cursor each (re)connection starts, so nothing between the last save and a crash is missed (events may come twice; indexing is idempotent)."`
	MaxBackoff         time.Duration `yaml:"max_backoff" env:"ATCR_JETSTREAM_MAX_BACKOFF" comment:"Longest wait between reconnection attempts; the wait doubles from 1s, with jitter."`
	MaxMessageBytes    ByteSize      `yaml:"max_message_bytes" env:"ATCR_JETSTREAM_MAX_MESSAGE_BYTES" comment:"Largest event read (64KiB to 16MiB); a larger one is skipped and counted as invalid."`
	QueueBytes         ByteSize      `yaml:"queue_bytes" env:"ATCR_JETSTREAM_QUEUE_BYTES" comment:"Events read ahead of the indexer, in bytes (at least max_message_bytes); when full, reading stops until the indexer catches up."`
	CursorSaveInterval time.Duration `yaml:"cursor_save_interval" env:"ATCR_JETSTREAM_CURSOR_SAVE_INTERVAL" comment:"How often the cursor is saved while events arrive; it is also saved on shutdown."`
}

func defaultJetstream() JetstreamConfig {
	return JetstreamConfig{
		Rewind:             5 * time.Second,
		MaxBackoff:         time.Minute,
		MaxMessageBytes:    2 << 20,
		QueueBytes:         16 << 20,
		CursorSaveInterval: 5 * time.Second,
	}
}

// jetstream validates the jetstream section; the URL only when it is set.
func (c *checker) jetstream(j JetstreamConfig, insecureLocalDev bool) {
	if j.URL != "" {
		c.jetstreamURL("jetstream.url", j.URL, insecureLocalDev)
	}
	// A rewind is what makes a switch to another Jetstream instance (whose
	// clock differs a little) lose nothing.
	c.positive("jetstream.rewind", j.Rewind)
	if j.MaxBackoff < time.Second {
		c.fail("jetstream.max_backoff", "must be at least 1s, got %s", j.MaxBackoff)
	}
	c.positive("jetstream.cursor_save_interval", j.CursorSaveInterval)
	if j.MaxMessageBytes < 64<<10 || j.MaxMessageBytes > 16<<20 {
		c.fail("jetstream.max_message_bytes", "%s is outside 64KiB..16MiB", j.MaxMessageBytes)
	}
	if j.QueueBytes < j.MaxMessageBytes {
		c.fail("jetstream.queue_bytes", "%s is less than one message of max_message_bytes (%s)", j.QueueBytes, j.MaxMessageBytes)
	}
}

func (c *checker) jetstreamURL(key, raw string, insecureLocalDev bool) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		c.fail(key, "%q is not a URL: %v", raw, err)
	case u.Scheme != "ws" && u.Scheme != "wss":
		c.fail(key, "%q must be a ws or wss URL", raw)
	case u.Hostname() == "":
		c.fail(key, "%q has no host", raw)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		c.fail(key, "%q must not carry user info, a query or a fragment (the consumer adds the query)", raw)
	case u.Scheme == "ws" && !insecureLocalDev && !isLoopbackHost(u.Hostname()):
		c.fail(key, "%q must use wss (plain ws is only allowed to a loopback host or with insecure_local_dev)", raw)
	}
}
