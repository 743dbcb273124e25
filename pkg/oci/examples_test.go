package oci_test

import (
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"

	"atcr.io/pkg/oci"
)

func ExampleParseRepository() {
	repo, err := oci.ParseRepository("Alice.Bsky.Social/web/frontend")
	if err != nil {
		panic(err)
	}
	fmt.Println(repo.Identity(), repo.Path(), repo.IsDID())

	_, err = oci.ParseRepository("alice.bsky.social/../etc")
	fmt.Println(errors.Is(err, oci.ErrNameInvalid))
	// Output:
	// alice.bsky.social web/frontend false
	// true
}

func ExampleParseReference() {
	for _, s := range []string{"latest", "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"} {
		ref, err := oci.ParseReference(s)
		if err != nil {
			panic(err)
		}
		if ref.IsDigest() {
			fmt.Println("digest", ref.Digest().Algorithm())
		} else {
			fmt.Println("tag", ref.Tag())
		}
	}
	// Output:
	// tag latest
	// digest sha256
}

func ExampleParseManifest() {
	body := []byte(`{
	  "schemaVersion": 2,
	  "mediaType": "application/vnd.oci.image.manifest.v1+json",
	  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2,
	             "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
	  "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": 32,
	              "digest": "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"}]
	}`)
	m, err := oci.ParseManifest("application/vnd.oci.image.manifest.v1+json", body)
	if err != nil {
		panic(err)
	}
	fmt.Println(m.ArtifactType())
	for _, d := range m.References() { // check these exist before accepting the PUT
		fmt.Println(d.Size, d.Digest.Hex()[:12])
	}
	// Output:
	// application/vnd.oci.image.config.v1+json
	// 2 44136fa355b3
	// 32 a3ed95caeb02
}

func ExampleHasher_Verify() {
	blob := "hello"
	want := oci.FromBytes(oci.SHA256, []byte("hello, world"))
	h := oci.NewHasher(want.Algorithm())
	if _, err := io.Copy(h, strings.NewReader(blob)); err != nil {
		panic(err)
	}
	fmt.Println(errors.Is(h.Verify(want, oci.SizeUnknown), oci.ErrDigestMismatch))
	// Output:
	// true
}

func ExampleServeJSON() {
	rec := httptest.NewRecorder()
	_, err := oci.ParseRepository("alice.bsky.social/Web")
	oci.ServeJSON(rec, fmt.Errorf("manifest PUT for tenant 42: %w", err))
	fmt.Println(rec.Code)
	fmt.Println(rec.Body.String())
	// Output:
	// 400
	// {"errors":[{"code":"NAME_INVALID","message":"invalid repository name: path component 1 \"Web\" must match [a-z0-9]+((.|_|__|-+)[a-z0-9]+)*"}]}
}
