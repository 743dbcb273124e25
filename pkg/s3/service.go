package s3

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Defaults applied by New and NewWithClient.
const (
	DefaultRegion     = "us-east-1"
	DefaultPresignTTL = 15 * time.Minute
	// MaxPresignTTL is SigV4's limit for query-string signatures.
	MaxPresignTTL = 7 * 24 * time.Hour

	// DefaultMultipartCopyThreshold is S3's CopyObject limit: larger objects
	// must be copied part by part with UploadPartCopy.
	DefaultMultipartCopyThreshold = 5 << 30
	DefaultCopyPartSize           = 512 << 20
	// DefaultPutPartSize bounds the memory of a streaming Put: at most
	// PutConcurrency buffers of this size exist at once.
	DefaultPutPartSize    = 16 << 20
	DefaultPutConcurrency = 2
	DefaultListPageSize   = 1000

	// MinPartSize and MaxParts are S3's multipart limits (the last part may
	// be smaller than MinPartSize).
	MinPartSize = 5 << 20
	MaxParts    = 10000
)

// Params configure a service. Bucket is required; Endpoint is empty for AWS
// itself. When AccessKey and SecretKey are both empty the SDK's default
// credential chain (env, shared files, instance roles) is used.
type Params struct {
	Bucket      string
	Region      string
	Endpoint    string
	AccessKey   string
	SecretKey   string
	PullZoneURL string
	// PublicEndpoint, when set, is where clients reach S3 if not at
	// Endpoint (the embedded server behind a TLS proxy): presigned URLs are
	// signed for Endpoint, then get this scheme and host — uploads always,
	// downloads when there is no pull zone. The proxy must forward the
	// origin's Host header, exactly like a pull zone.
	PublicEndpoint string
	PathStyle      bool
	PresignTTL     time.Duration
}

// S3Service is the registry's object-store API over one bucket. The exported
// tuning fields may be changed after construction but before first use; they
// are not synchronised.
type S3Service struct {
	// MultipartCopyThreshold: Move copies objects larger than this with
	// UploadPartCopy in CopyPartSize pieces instead of one CopyObject.
	MultipartCopyThreshold int64
	CopyPartSize           int64
	// PutPartSize: Put sends inputs up to this size with one PutObject and
	// larger ones as a multipart upload of parts this size.
	PutPartSize    int64
	PutConcurrency int
	// ListPageSize is MaxKeys for each ListObjectsV2 page.
	ListPageSize int32
	Logger       *slog.Logger

	client     Client
	presigner  Presigner
	bucket     string
	region     string
	presignTTL time.Duration
	pullZone   *url.URL
	public     *url.URL
}

// New builds the real aws-sdk-go-v2 client from p and returns a service over
// it. optFns are applied to the SDK client after the service's own settings
// (cmd/s3-test uses them to turn on signing logs).
func New(ctx context.Context, p Params, optFns ...func(*awss3.Options)) (*S3Service, error) {
	if p.Endpoint != "" {
		if err := checkHTTPURL(p.Endpoint); err != nil {
			return nil, fmt.Errorf("s3 endpoint: %w", err)
		}
	}
	if (p.AccessKey == "") != (p.SecretKey == "") {
		return nil, errors.New("s3: access key and secret key must be given together")
	}
	var loadOpts []func(*config.LoadOptions) error
	if p.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(p.Region))
	}
	if p.AccessKey != "" {
		loadOpts = append(loadOpts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(p.AccessKey, p.SecretKey, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("s3: load aws config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	opts := append([]func(*awss3.Options){func(o *awss3.Options) {
		if p.Endpoint != "" {
			o.BaseEndpoint = aws.String(p.Endpoint)
		}
		o.UsePathStyle = p.PathStyle
		// Checksums only where S3 demands them: the "when supported" default
		// adds CRC headers that presigned PUTs from plain HTTP clients cannot
		// satisfy and that several S3-compatible servers reject.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}}, optFns...)
	client := awss3.NewFromConfig(cfg, opts...)
	p.Region = cfg.Region
	return NewWithClient(client, awss3.NewPresignClient(client), p)
}

// NewWithClient returns a service over any Client (MockS3Client in tests).
// presigner may be nil, in which case the Presign methods return
// ErrNoPresigner. Only Bucket, Region (for CreateBucket), PresignTTL and
// PullZoneURL are read from p.
func NewWithClient(client Client, presigner Presigner, p Params) (*S3Service, error) {
	if client == nil {
		return nil, errors.New("s3: nil client")
	}
	if err := validateBucketName(p.Bucket); err != nil {
		return nil, err
	}
	ttl := p.PresignTTL
	if ttl == 0 {
		ttl = DefaultPresignTTL
	}
	if ttl < time.Second || ttl > MaxPresignTTL {
		return nil, fmt.Errorf("s3: presign TTL %s outside 1s..%s", ttl, MaxPresignTTL)
	}
	var zone *url.URL
	if p.PullZoneURL != "" {
		z, err := parsePullZone(p.PullZoneURL)
		if err != nil {
			return nil, err
		}
		zone = z
	}
	var public *url.URL
	if p.PublicEndpoint != "" {
		u, err := parsePullZone(p.PublicEndpoint)
		if err != nil {
			return nil, fmt.Errorf("s3 public endpoint: %w", err)
		}
		public = u
	}
	return &S3Service{
		MultipartCopyThreshold: DefaultMultipartCopyThreshold,
		CopyPartSize:           DefaultCopyPartSize,
		PutPartSize:            DefaultPutPartSize,
		PutConcurrency:         DefaultPutConcurrency,
		ListPageSize:           DefaultListPageSize,
		Logger:                 slog.Default(),
		client:                 client,
		presigner:              presigner,
		bucket:                 p.Bucket,
		region:                 p.Region,
		presignTTL:             ttl,
		pullZone:               zone,
		public:                 public,
	}, nil
}

// CheckBucket returns nil when the bucket exists and the credentials may use
// it, an error wrapping ErrNotFound when it does not exist, or the S3 error.
func (s *S3Service) CheckBucket(ctx context.Context) error {
	_, err := s.client.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: &s.bucket})
	if err != nil {
		return fmt.Errorf("head bucket %s: %w", s.bucket, mapErr(err))
	}
	return nil
}

// EnsureBucket creates the bucket when it does not exist yet.
func (s *S3Service) EnsureBucket(ctx context.Context) error {
	err := s.CheckBucket(ctx)
	if err == nil || !errors.Is(err, ErrNotFound) {
		return err
	}
	in := &awss3.CreateBucketInput{Bucket: &s.bucket}
	if s.region != "" && s.region != DefaultRegion {
		// S3 wants the region spelled out everywhere except us-east-1.
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{
			LocationConstraint: types.BucketLocationConstraint(s.region),
		}
	}
	_, err = s.client.CreateBucket(ctx, in)
	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("create bucket %s: %w", s.bucket, err)
	}
	return nil
}

// validateBucketName applies S3's DNS-compatible naming rules.
func validateBucketName(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("s3: bucket name %q must be 3-63 characters", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return fmt.Errorf("s3: bucket name %q may hold only a-z, 0-9, '-' and '.'", b)
		}
	}
	if first, last := b[0], b[len(b)-1]; first == '-' || first == '.' || last == '-' || last == '.' {
		return fmt.Errorf("s3: bucket name %q must start and end with a letter or digit", b)
	}
	return nil
}

func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	return nil
}
