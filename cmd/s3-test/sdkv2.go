package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"atcr.io/pkg/s3"
)

// probe is the object each SDK writes, reads back and deletes.
type probe struct {
	key    string // written with PutObject, deleted at the end
	putKey string // written through a presigned PUT
	data   []byte
}

// v2Checks runs the checks through pkg/s3, i.e. through aws-sdk-go-v2 exactly
// as the hold uses it.
func v2Checks(c config, p probe, stderr io.Writer) []check {
	var svc, zoneSvc *s3.S3Service
	newSvc := func(ctx context.Context, params s3.Params) (*s3.S3Service, error) {
		var opts []func(*awss3.Options)
		if c.Verbose {
			opts = append(opts, func(o *awss3.Options) {
				o.ClientLogMode |= aws.LogSigning
				o.Logger = logging.LoggerFunc(func(cl logging.Classification, format string, v ...any) {
					fmt.Fprintf(stderr, "[sdk-v2 %s] "+format+"\n", append([]any{cl}, v...)...)
				})
			})
		}
		return s3.New(ctx, params, opts...)
	}
	checks := []check{
		{name: "connectivity", run: func(ctx context.Context) error {
			var err error
			if svc, err = newSvc(ctx, c.params()); err != nil {
				return err
			}
			err = svc.CheckBucket(ctx)
			var respErr *smithyhttp.ResponseError
			if err == nil || (errors.As(err, &respErr) && respErr.HTTPStatusCode() > 0) {
				return nil // the endpoint answered HTTP, whatever it said
			}
			return err
		}},
		{name: "bucket-access", needs: "connectivity", run: func(ctx context.Context) error {
			return svc.CheckBucket(ctx)
		}},
		{name: "put-object", needs: "bucket-access", run: func(ctx context.Context) error {
			return svc.PutBytes(ctx, p.key, p.data)
		}},
		{name: "get-object", needs: "put-object", run: func(ctx context.Context) error {
			rc, _, err := svc.Open(ctx, p.key)
			if err != nil {
				return err
			}
			defer rc.Close()
			return compareReader(rc, p.data)
		}},
		{name: "presigned-get", needs: "put-object", run: func(ctx context.Context) error {
			u, err := svc.PresignGet(ctx, p.key, 0)
			if err != nil {
				return err
			}
			return fetchExpect(ctx, u, p.data)
		}},
	}
	if c.PullZone != "" {
		checks = append(checks, check{name: "pull-zone-get", needs: "put-object", run: func(ctx context.Context) error {
			params := c.params()
			params.PullZoneURL = c.PullZone
			var err error
			if zoneSvc, err = newSvc(ctx, params); err != nil {
				return err
			}
			u, err := zoneSvc.PresignGet(ctx, p.key, 0)
			if err != nil {
				return err
			}
			if err := checkHost(u, c.PullZone); err != nil {
				return err
			}
			return fetchExpect(ctx, u, p.data)
		}})
	}
	return append(checks,
		check{name: "presigned-put", needs: "bucket-access", run: func(ctx context.Context) error {
			u, err := svc.PresignPut(ctx, p.putKey, 0)
			if err != nil {
				return err
			}
			if err := uploadTo(ctx, u, p.data); err != nil {
				return err
			}
			rc, _, err := svc.Open(ctx, p.putKey)
			if err != nil {
				return fmt.Errorf("read back: %w", err)
			}
			defer rc.Close()
			if err := compareReader(rc, p.data); err != nil {
				return err
			}
			return svc.Delete(ctx, p.putKey)
		}},
		check{name: "delete-object", needs: "put-object", run: func(ctx context.Context) error {
			if err := svc.Delete(ctx, p.key); err != nil {
				return err
			}
			if _, err := svc.Stat(ctx, p.key); !errors.Is(err, s3.ErrNotFound) {
				return fmt.Errorf("object still there after delete (stat: %v)", err)
			}
			return nil
		}},
	)
}

func compareReader(r io.Reader, want []byte) error {
	got, err := io.ReadAll(io.LimitReader(r, int64(len(want))+1))
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if string(got) != string(want) {
		return fmt.Errorf("read %d bytes that differ from the %d written", len(got), len(want))
	}
	return nil
}

// checkHost makes sure a swapped URL really points at the pull zone.
func checkHost(rawURL, zone string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	z, err := url.Parse(zone)
	if err != nil {
		return err
	}
	if u.Host != z.Host || u.Scheme != z.Scheme {
		return fmt.Errorf("URL host %s://%s is not the pull zone %s://%s", u.Scheme, u.Host, z.Scheme, z.Host)
	}
	return nil
}
