package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"atcr.io/pkg/s3"
)

// config is what the checks need, after flags, the environment and an
// optional credentials file have been merged.
type config struct {
	Endpoint  string
	Bucket    string
	Region    string
	AccessKey string
	SecretKey string
	PullZone  string
	PathStyle bool
	Verbose   bool
	Timeout   time.Duration
}

// envNames lists, per setting, the environment variables read (first set
// wins). Both the AWS names and the S3_* names of the hold's config are
// accepted.
var envNames = map[string][]string{
	"endpoint":   {"S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"},
	"bucket":     {"S3_BUCKET"},
	"region":     {"S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"},
	"access-key": {"S3_ACCESS_KEY", "AWS_ACCESS_KEY_ID"},
	"secret-key": {"S3_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"},
	"pull-zone":  {"S3_PULL_ZONE_URL"},
	"path-style": {"S3_PATH_STYLE"},
}

var errUsage = errors.New("usage")

// parseConfig merges, lowest precedence first: built-in defaults, the
// environment, the credentials file (--credentials-file), explicit flags.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("s3-test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: s3-test [flags]\n\nDiagnoses an S3 endpoint with aws-sdk-go (v1) and aws-sdk-go-v2.\nPrints one PASS/FAIL line per check; exits 1 if any check fails, 2 on bad usage.\nEnvironment: S3_ENDPOINT S3_BUCKET S3_REGION/AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY S3_PULL_ZONE_URL S3_PATH_STYLE.\nWith --verbose, signing debug (canonical requests, presigned URLs) goes to stderr.\n\nflags:")
		fs.PrintDefaults()
	}
	var (
		c         config
		credsFile string
	)
	fs.StringVar(&c.Endpoint, "endpoint", "", "S3 endpoint URL (empty: AWS)")
	fs.StringVar(&c.Bucket, "bucket", "", "bucket to probe (required)")
	fs.StringVar(&c.Region, "region", "", "region (default us-east-1)")
	fs.StringVar(&c.AccessKey, "access-key", "", "access key ID (empty: the SDKs' default credential chains)")
	fs.StringVar(&c.SecretKey, "secret-key", "", "secret access key")
	fs.StringVar(&c.PullZone, "pull-zone", "", "CDN pull-zone URL to check the host swap against")
	fs.BoolVar(&c.PathStyle, "path-style", false, "path-style addressing (default true when an endpoint is set)")
	fs.BoolVar(&c.Verbose, "verbose", false, "print SigV4 signing debug for both SDKs to stderr")
	fs.StringVar(&credsFile, "credentials-file", "", "read endpoint, bucket, region and keys from the embedded server's s3-credentials.json")
	fs.DurationVar(&c.Timeout, "timeout", 2*time.Minute, "overall time limit")
	if err := fs.Parse(args); err != nil {
		return config{}, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %v\n", fs.Args())
		return config{}, errUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	// Layer by layer, a value is taken only if no higher layer set it.
	fields := map[string]*string{
		"endpoint": &c.Endpoint, "bucket": &c.Bucket, "region": &c.Region,
		"access-key": &c.AccessKey, "secret-key": &c.SecretKey, "pull-zone": &c.PullZone,
	}
	if credsFile != "" {
		f, err := s3.ReadCredentialsFile(credsFile)
		if err != nil {
			return config{}, err
		}
		fromFile := map[string]string{
			"endpoint": f.Endpoint, "bucket": f.Bucket, "region": f.Region,
			"access-key": f.AccessKeyID, "secret-key": f.SecretAccessKey,
		}
		for name, v := range fromFile {
			if !set[name] && v != "" {
				*fields[name] = v
				set[name] = true
			}
		}
	}
	for name, ptr := range fields {
		if !set[name] {
			*ptr = firstEnv(getenv, envNames[name])
		}
	}
	if !set["path-style"] {
		c.PathStyle = c.Endpoint != ""
		if v := firstEnv(getenv, envNames["path-style"]); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return config{}, fmt.Errorf("S3_PATH_STYLE: %w", err)
			}
			c.PathStyle = b
		}
	}
	if c.Region == "" {
		c.Region = s3.DefaultRegion
	}
	if c.Bucket == "" {
		fmt.Fprintln(stderr, "--bucket (or S3_BUCKET, or --credentials-file) is required")
		return config{}, errUsage
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		fmt.Fprintln(stderr, "--access-key and --secret-key must be given together")
		return config{}, errUsage
	}
	return c, nil
}

func firstEnv(getenv func(string) string, names []string) string {
	for _, n := range names {
		if v := getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// params converts the config for pkg/s3.
func (c config) params() s3.Params {
	return s3.Params{
		Bucket: c.Bucket, Region: c.Region, Endpoint: c.Endpoint,
		AccessKey: c.AccessKey, SecretKey: c.SecretKey, PathStyle: c.PathStyle,
	}
}
