package s3

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// Handler serves the mock's objects over HTTP the way presigned URLs reach
// S3: path-style GET and PUT of /<bucket>/<key>, and PUT with
// ?partNumber=&uploadId= for multipart parts. It checks that the URL is
// presigned and not expired (X-Amz-Date + X-Amz-Expires) but does NOT verify
// the signature. Serve it with httptest.NewServer and sign with
// MockPresigner(server.URL) so presigned URLs from a mock-backed service can
// be fetched in unit tests.
func (m *MockS3Client) Handler() http.Handler {
	return http.HandlerFunc(m.serveHTTP)
}

// MockPresigner returns a real SDK presigner that signs path-style URLs for
// endpoint with fixed fake credentials: a Presigner for a service built over
// MockS3Client whose Handler serves endpoint.
func MockPresigner(endpoint string) Presigner {
	client := awss3.New(awss3.Options{
		Region:       DefaultRegion,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("MOCKACCESSKEY", "mock-secret-key", ""),
	})
	return awss3.NewPresignClient(client)
}

func (m *MockS3Client) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if status, msg := checkPresignedQuery(r); status != 0 {
		http.Error(w, msg, status)
		return
	}
	bucket, key, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if !ok || key == "" {
		http.Error(w, "mock: want /<bucket>/<key>", http.StatusBadRequest)
		return
	}
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet:
		m.mu.Lock()
		o, err := m.objectLocked(&bucket, &key)
		m.mu.Unlock()
		if err != nil {
			http.Error(w, "NoSuchKey", http.StatusNotFound)
			return
		}
		w.Header().Set("ETag", o.etag)
		w.Header().Set("Content-Length", strconv.Itoa(len(o.data)))
		w.Header().Set("Last-Modified", o.modified.Format(http.TimeFormat))
		_, _ = w.Write(o.data)
	case r.Method == http.MethodPut && q.Has("uploadId"):
		n, err := strconv.ParseInt(q.Get("partNumber"), 10, 32)
		if err != nil {
			http.Error(w, "mock: bad partNumber", http.StatusBadRequest)
			return
		}
		out, err := m.UploadPart(r.Context(), &awss3.UploadPartInput{
			Bucket: &bucket, Key: &key, UploadId: aws.String(q.Get("uploadId")), PartNumber: aws.Int32(int32(n)), Body: r.Body,
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Header().Set("ETag", aws.ToString(out.ETag))
	case r.Method == http.MethodPut:
		out, err := m.PutObject(r.Context(), &awss3.PutObjectInput{Bucket: &bucket, Key: &key, Body: r.Body})
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Header().Set("ETag", aws.ToString(out.ETag))
	default:
		http.Error(w, "mock: method not supported", http.StatusMethodNotAllowed)
	}
}

// checkPresignedQuery refuses URLs that carry no SigV4 query signature or
// whose validity window has passed, as S3 would (403).
func checkPresignedQuery(r *http.Request) (int, string) {
	q := r.URL.Query()
	if q.Get("X-Amz-Signature") == "" || q.Get("X-Amz-Credential") == "" {
		return http.StatusForbidden, "AccessDenied: not a presigned URL"
	}
	signed, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return http.StatusForbidden, "AccessDenied: bad X-Amz-Date"
	}
	secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || secs < 1 {
		return http.StatusForbidden, "AccessDenied: bad X-Amz-Expires"
	}
	if time.Now().After(signed.Add(time.Duration(secs) * time.Second)) {
		return http.StatusForbidden, "AccessDenied: Request has expired"
	}
	return 0, ""
}
