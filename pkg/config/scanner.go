package config

import "time"

// ScannerConfig governs the hold's vulnerability scanning (docs/scanning.md).
// Scanning needs a vulnerability database: without one in db_dir, scans
// are recorded as skipped and the hold says so once at start-up.
type ScannerConfig struct {
	Enabled    bool   `yaml:"enabled" env:"HOLD_SCANNER_ENABLED" comment:"Scan pushed images with Grype and publish io.atcr.hold.scan records."`
	ScanOnPush bool   `yaml:"scan_on_push" env:"HOLD_SCAN_ON_PUSH" comment:"Scan every pushed image; a quota tier's scan_on_push overrides this for its crew."`
	DBDir      string `yaml:"db_dir" env:"HOLD_SCANNER_DB_DIR" comment:"Directory of the Grype vulnerability database; empty means <server.data_dir>/vulndb. Fill it with 'atcr-hold scanner db import <archive>' or the update URL."`
	// DBUpdateURL is off by default because many holds run without
	// internet; the database is then imported by the operator.
	DBUpdateURL      string        `yaml:"db_update_url" env:"HOLD_SCANNER_DB_UPDATE_URL" comment:"Grype database listing URL to update from (e.g. https://grype.anchore.io/databases); empty disables updates."`
	DBUpdateInterval time.Duration `yaml:"db_update_interval" env:"HOLD_SCANNER_DB_UPDATE_INTERVAL" comment:"Time between database update checks when db_update_url is set; 0s disables scheduled updates."`
	RescansPerMinute int           `yaml:"rescans_per_minute" env:"HOLD_SCANNER_RESCANS_PER_MINUTE" comment:"After a database update every manifest is rescanned, at most this many per minute; 0 disables rescans."`
	Workers          int           `yaml:"workers" env:"HOLD_SCANNER_WORKERS" comment:"Scan workers inside the hold process; 0 leaves scanning to remote workers (io.atcr.hold.subscribeScanJobs)."`
	// WorkerSecret authenticates remote workers; it is a secret like the S3
	// keys and belongs in the environment, not in a file in a repository.
	WorkerSecret string        `yaml:"worker_secret" env:"HOLD_SCANNER_WORKER_SECRET" comment:"Shared secret remote scan workers present to subscribe to jobs (at least 32 characters); empty refuses remote workers."`
	TempDir      string        `yaml:"temp_dir" env:"HOLD_SCANNER_TEMP_DIR" comment:"Where a scan unpacks an image; empty means <server.data_dir>/scan-tmp. Each job's directory is removed when it ends."`
	MaxTempDisk  ByteSize      `yaml:"max_temp_disk" env:"HOLD_SCANNER_MAX_TEMP_DISK" comment:"Most disk one scan may use for the unpacked image; a larger image is recorded as failed."`
	MaxFiles     int           `yaml:"max_files" env:"HOLD_SCANNER_MAX_FILES" comment:"Most files one image may unpack to; more is recorded as failed."`
	JobTimeout   time.Duration `yaml:"job_timeout" env:"HOLD_SCANNER_JOB_TIMEOUT" comment:"Longest one scan may take; a job that runs longer is stopped and retried."`
	MaxAttempts  int           `yaml:"max_attempts" env:"HOLD_SCANNER_MAX_ATTEMPTS" comment:"Attempts of a job whose worker crashed, timed out or lost storage before it is recorded as failed."`
	RetryBackoff time.Duration `yaml:"retry_backoff" env:"HOLD_SCANNER_RETRY_BACKOFF" comment:"Wait before the first retry of a job; it doubles with each attempt."`
}

// defaultScanner is the scanner section's default: scanning on, one
// in-process worker, no database updates, no remote workers.
func defaultScanner() ScannerConfig {
	return ScannerConfig{
		Enabled:          true,
		ScanOnPush:       true,
		RescansPerMinute: 30,
		Workers:          1,
		MaxTempDisk:      8 << 30,
		MaxFiles:         500_000,
		JobTimeout:       30 * time.Minute,
		MaxAttempts:      3,
		RetryBackoff:     time.Minute,
	}
}

// minWorkerSecret is the shortest accepted worker_secret: a secret that
// guards the scan jobs (and through them presigned blob URLs) must not be
// guessable.
const minWorkerSecret = 32

func (c *checker) scanner(s ScannerConfig) {
	if s.DBUpdateURL != "" {
		c.httpURL("scanner.db_update_url", s.DBUpdateURL, false)
	}
	if s.DBUpdateInterval < 0 {
		c.fail("scanner.db_update_interval", "must not be negative, got %s (0s disables scheduled updates)", s.DBUpdateInterval)
	}
	if s.RescansPerMinute < 0 {
		c.fail("scanner.rescans_per_minute", "must not be negative, got %d (0 disables rescans)", s.RescansPerMinute)
	}
	if s.Workers < 0 {
		c.fail("scanner.workers", "must not be negative, got %d (0 leaves scanning to remote workers)", s.Workers)
	}
	if s.WorkerSecret != "" && len(s.WorkerSecret) < minWorkerSecret {
		c.fail("scanner.worker_secret", "must be at least %d characters (or empty to refuse remote workers)", minWorkerSecret)
	}
	if s.MaxTempDisk < 64<<20 {
		c.fail("scanner.max_temp_disk", "must be at least 64MiB, got %d bytes", int64(s.MaxTempDisk))
	}
	c.atLeast("scanner.max_files", s.MaxFiles, 1000)
	c.positive("scanner.job_timeout", s.JobTimeout)
	c.atLeast("scanner.max_attempts", s.MaxAttempts, 1)
	c.positive("scanner.retry_backoff", s.RetryBackoff)
}
