package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	s3v1 "github.com/aws/aws-sdk-go/service/s3"

	"atcr.io/pkg/s3"
)

// presignTTLv1 is the lifetime of the URLs the v1 checks presign.
const presignTTLv1 = 5 * time.Minute

// v1Checks runs the same probes through aws-sdk-go v1, which many S3
// tools still use: a server that passes v2 and fails v1 (or the other way
// round) points at a signing or addressing difference between the SDKs.
func v1Checks(c config, p probe, stderr io.Writer) []check {
	var client *s3v1.S3
	checks := []check{
		{name: "connectivity", run: func(ctx context.Context) error {
			cfg := aws.NewConfig().WithRegion(c.Region).WithS3ForcePathStyle(c.PathStyle)
			if c.Endpoint != "" {
				cfg = cfg.WithEndpoint(c.Endpoint)
			}
			if c.AccessKey != "" {
				cfg = cfg.WithCredentials(credentials.NewStaticCredentials(c.AccessKey, c.SecretKey, ""))
			}
			if c.Verbose {
				cfg = cfg.WithLogLevel(aws.LogDebugWithSigning).WithLogger(aws.LoggerFunc(func(v ...any) {
					fmt.Fprintln(stderr, append([]any{"[sdk-v1]"}, v...)...)
				}))
			}
			sess, err := session.NewSession(cfg)
			if err != nil {
				return err
			}
			client = s3v1.New(sess)
			_, err = client.HeadBucketWithContext(ctx, &s3v1.HeadBucketInput{Bucket: &c.Bucket})
			var reqErr awserr.RequestFailure
			if err == nil || (errors.As(err, &reqErr) && reqErr.StatusCode() > 0) {
				return nil // the endpoint answered HTTP, whatever it said
			}
			return err
		}},
		{name: "bucket-access", needs: "connectivity", run: func(ctx context.Context) error {
			_, err := client.HeadBucketWithContext(ctx, &s3v1.HeadBucketInput{Bucket: &c.Bucket})
			return err
		}},
		{name: "put-object", needs: "bucket-access", run: func(ctx context.Context) error {
			_, err := client.PutObjectWithContext(ctx, &s3v1.PutObjectInput{
				Bucket: &c.Bucket, Key: &p.key, Body: bytes.NewReader(p.data),
			})
			return err
		}},
		{name: "get-object", needs: "put-object", run: func(ctx context.Context) error {
			out, err := client.GetObjectWithContext(ctx, &s3v1.GetObjectInput{Bucket: &c.Bucket, Key: &p.key})
			if err != nil {
				return err
			}
			defer out.Body.Close()
			return compareReader(out.Body, p.data)
		}},
		{name: "presigned-get", needs: "put-object", run: func(ctx context.Context) error {
			u, err := presignGetV1(client, c.Bucket, p.key)
			if err != nil {
				return err
			}
			return fetchExpect(ctx, u, p.data)
		}},
	}
	if c.PullZone != "" {
		checks = append(checks, check{name: "pull-zone-get", needs: "put-object", run: func(ctx context.Context) error {
			u, err := presignGetV1(client, c.Bucket, p.key)
			if err != nil {
				return err
			}
			// Same rule as the hold: sign against S3, then swap the host.
			if u, err = s3.ApplyPullZone(u, c.PullZone); err != nil {
				return err
			}
			return fetchExpect(ctx, u, p.data)
		}})
	}
	return append(checks,
		check{name: "presigned-put", needs: "bucket-access", run: func(ctx context.Context) error {
			req, _ := client.PutObjectRequest(&s3v1.PutObjectInput{Bucket: &c.Bucket, Key: &p.putKey})
			u, err := req.Presign(presignTTLv1)
			if err != nil {
				return err
			}
			if err := uploadTo(ctx, u, p.data); err != nil {
				return err
			}
			out, err := client.GetObjectWithContext(ctx, &s3v1.GetObjectInput{Bucket: &c.Bucket, Key: &p.putKey})
			if err != nil {
				return fmt.Errorf("read back: %w", err)
			}
			defer out.Body.Close()
			if err := compareReader(out.Body, p.data); err != nil {
				return err
			}
			_, err = client.DeleteObjectWithContext(ctx, &s3v1.DeleteObjectInput{Bucket: &c.Bucket, Key: &p.putKey})
			return err
		}},
		check{name: "delete-object", needs: "put-object", run: func(ctx context.Context) error {
			if _, err := client.DeleteObjectWithContext(ctx, &s3v1.DeleteObjectInput{Bucket: &c.Bucket, Key: &p.key}); err != nil {
				return err
			}
			_, err := client.HeadObjectWithContext(ctx, &s3v1.HeadObjectInput{Bucket: &c.Bucket, Key: &p.key})
			var reqErr awserr.RequestFailure
			if errors.As(err, &reqErr) && reqErr.StatusCode() == 404 {
				return nil
			}
			return fmt.Errorf("object still there after delete (head: %v)", err)
		}},
	)
}

func presignGetV1(client *s3v1.S3, bucket, key string) (string, error) {
	req, _ := client.GetObjectRequest(&s3v1.GetObjectInput{Bucket: &bucket, Key: &key})
	return req.Presign(presignTTLv1)
}
