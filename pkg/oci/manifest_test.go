package oci

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

func readTestManifest(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/manifests/" + name)
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

func sha(s string) string { return FromBytes(SHA256, []byte(s)).String() }

func TestParseManifestFixtures(t *testing.T) {
	tests := []struct {
		file, contentType, mediaType, artifactType string
		isIndex, hasSubject                        bool
		refs                                       []string // digests References must return, in order
	}{
		{file: "oci-image.json", contentType: MediaTypeOCIManifest, mediaType: MediaTypeOCIManifest,
			artifactType: MediaTypeOCIConfig, refs: []string{sha("config"), sha("layer1"), sha("layer2")}},
		{file: "docker-v2.json", contentType: MediaTypeDockerManifest, mediaType: MediaTypeDockerManifest,
			artifactType: MediaTypeDockerConfig, refs: []string{sha("dconfig"), sha("dlayer")}},
		{file: "oci-index.json", contentType: MediaTypeOCIIndex, mediaType: MediaTypeOCIIndex, isIndex: true,
			refs: []string{sha("amd64"), sha("arm64"), sha("att")}},
		{file: "docker-list.json", contentType: MediaTypeDockerManifestList, mediaType: MediaTypeDockerManifestList,
			isIndex: true, refs: []string{sha("ppc")}},
		{file: "artifact-subject.json", contentType: MediaTypeOCIManifest, mediaType: MediaTypeOCIManifest,
			artifactType: "application/vnd.example.sbom.v1", hasSubject: true,
			refs: []string{"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", sha("sbom")}},
		// Non-distributable layers live elsewhere, so References skips them.
		{file: "nondistributable.json", contentType: MediaTypeOCIManifest, mediaType: MediaTypeOCIManifest,
			artifactType: MediaTypeOCIConfig, refs: []string{sha("wconfig"), sha("top")}},
		// No Content-Type: the body's mediaType decides.
		{file: "oci-index.json", mediaType: MediaTypeOCIIndex, isIndex: true,
			refs: []string{sha("amd64"), sha("arm64"), sha("att")}},
		{file: "docker-v2.json", contentType: "application/json", mediaType: MediaTypeDockerManifest,
			artifactType: MediaTypeDockerConfig, refs: []string{sha("dconfig"), sha("dlayer")}},
		// Parameters on Content-Type are ignored, as the spec asks.
		{file: "oci-image.json", contentType: MediaTypeOCIManifest + "; charset=utf-8", mediaType: MediaTypeOCIManifest,
			artifactType: MediaTypeOCIConfig, refs: []string{sha("config"), sha("layer1"), sha("layer2")}},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.contentType, func(t *testing.T) {
			body := readTestManifest(t, tt.file)
			m, err := ParseManifest(tt.contentType, body)
			if err != nil {
				t.Fatalf("ParseManifest: %v", err)
			}
			if m.MediaType() != tt.mediaType || m.IsIndex() != tt.isIndex || m.ArtifactType() != tt.artifactType {
				t.Errorf("(mediaType, index, artifactType) = (%q, %v, %q), want (%q, %v, %q)",
					m.MediaType(), m.IsIndex(), m.ArtifactType(), tt.mediaType, tt.isIndex, tt.artifactType)
			}
			var refs []string
			for _, d := range m.References() {
				refs = append(refs, d.Digest.String())
			}
			if strings.Join(refs, ",") != strings.Join(tt.refs, ",") {
				t.Errorf("References() = %v, want %v", refs, tt.refs)
			}
			if _, ok := m.Subject(); ok != tt.hasSubject {
				t.Errorf("Subject() ok = %v, want %v", ok, tt.hasSubject)
			}
			if _, ok := m.Config(); ok == tt.isIndex {
				t.Errorf("Config() ok = %v for index=%v", ok, tt.isIndex)
			}
			if got := len(m.Children()); (got > 0) != tt.isIndex {
				t.Errorf("len(Children()) = %d for index=%v", got, tt.isIndex)
			}
			if m.Digest() != FromBytes(SHA256, body) || m.Size() != int64(len(body)) {
				t.Errorf("Digest, Size = %s, %d; want the body's", m.Digest(), m.Size())
			}
		})
	}
}

func TestManifestAccessors(t *testing.T) {
	m, err := ParseManifest(MediaTypeOCIIndex, readTestManifest(t, "oci-index.json"))
	if err != nil {
		t.Fatal(err)
	}
	entries := m.Manifests()
	if p := entries[1].Platform; p == nil || p.Architecture != "arm64" || p.Variant != "v8" || p.OSFeatures[0] != "x" {
		t.Errorf("platform of entry 1 = %+v", p)
	}
	if entries[2].Annotations["vnd.docker.reference.type"] != "attestation-manifest" {
		t.Errorf("entry annotations = %v", entries[2].Annotations)
	}
	entries[0].Size = 99 // accessors hand out copies
	if m.Manifests()[0].Size == 99 {
		t.Error("Manifests() exposes internal state")
	}

	a, err := ParseManifest(MediaTypeOCIManifest, readTestManifest(t, "artifact-subject.json"))
	if err != nil {
		t.Fatal(err)
	}
	ann := a.Annotations()
	ann["injected"] = "x"
	if _, ok := a.Annotations()["injected"]; ok {
		t.Error("Annotations() exposes internal state")
	}
	cfg, _ := a.Config()
	if string(cfg.Data) != "{}" {
		t.Errorf("config data = %q", cfg.Data)
	}
	subj, _ := a.Subject()
	if subj.Digest.String() != sha("missing subject") {
		t.Errorf("subject = %+v", subj)
	}

	// What a referrers index lists for the manifest itself.
	if a.ArtifactType() != "application/vnd.example.sbom.v1" || a.MediaType() != MediaTypeOCIManifest {
		t.Errorf("artifactType %q, mediaType %q", a.ArtifactType(), a.MediaType())
	}
}

func TestIndexArtifactTypeIsOnlyTheField(t *testing.T) {
	body := `{"schemaVersion":2,"mediaType":"` + MediaTypeOCIIndex + `","artifactType":"application/x.a","manifests":[]}`
	m, err := ParseManifest("", []byte(body))
	if err != nil || m.ArtifactType() != "application/x.a" || len(m.Children()) != 0 {
		t.Fatalf("ParseManifest = %+v, %v", m, err)
	}
	m, err = ParseManifest("", []byte(`{"schemaVersion":2,"manifests":[]}`))
	if err != nil || m.MediaType() != MediaTypeOCIIndex || m.ArtifactType() != "" {
		t.Fatalf("index without mediaType: %+v, %v", m, err)
	}
}

// cfgJSON and layerJSON are well-formed descriptors for building bodies.
var (
	cfgJSON   = `{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + sha("c") + `","size":2}`
	layerJSON = `{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"` + sha("l") + `","size":5}`
)

// image builds an OCI image manifest body with extra top-level members.
func image(extra string) string {
	return `{"schemaVersion":2,"mediaType":"` + MediaTypeOCIManifest + `","config":` + cfgJSON +
		`,"layers":[` + layerJSON + `]` + extra + `}`
}

// withLayer builds an OCI image manifest whose only layer is the given JSON.
func withLayer(layer string) string {
	return `{"schemaVersion":2,"config":` + cfgJSON + `,"layers":[` + layer + `]}`
}

func TestParseManifestValidEdges(t *testing.T) {
	tests := map[string]string{
		"no mediaType, shaped like a manifest": `{"schemaVersion":2,"config":` + cfgJSON + `}`,
		"layers absent":                        `{"schemaVersion":2,"config":` + cfgJSON + `}`,
		"layers null":                          `{"schemaVersion":2,"config":` + cfgJSON + `,"layers":null}`,
		"layers empty":                         `{"schemaVersion":2,"config":` + cfgJSON + `,"layers":[]}`,
		"annotation keys differing in case":    image(`,"annotations":{"Digest":"a","digest":"b","MediaType":"c"}`),
		"unknown members":                      image(`,"x":{"y":[1,2,{"z":null}]},"Z":true`),
		"escaped key spelling":                 `{"schema\u0056ersion":2,"config":` + cfgJSON + `}`,
		"nested just within the depth limit":   image(`,"x":` + strings.Repeat("[", maxJSONDepth-1) + strings.Repeat("]", maxJSONDepth-1)),
		"zero-size layer":                      withLayer(`{"mediaType":"a/b","digest":"` + sha("") + `","size":0}`),
		"sha512 layer":                         withLayer(`{"mediaType":"a/b","digest":"` + testSHA512 + `","size":1}`),
	}
	for name, body := range tests {
		if _, err := ParseManifest("", []byte(body)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestParseManifestInvalid(t *testing.T) {
	oci, idx := MediaTypeOCIManifest, MediaTypeOCIIndex
	tests := []struct {
		name, contentType, body string
		want                    error
	}{
		{"not JSON", oci, `{`, ErrManifestInvalid},
		{"trailing data", oci, image(``) + ` {}`, ErrManifestInvalid},
		{"top-level array", oci, `[]`, ErrManifestInvalid},
		{"top-level null", oci, `null`, ErrManifestInvalid},
		{"top-level string", "", `"x"`, ErrManifestInvalid},
		{"empty body", oci, ``, ErrManifestInvalid},
		{"invalid UTF-8", oci, image(`,"annotations":{"a":"` + "\xff" + `"}`), ErrManifestInvalid},
		{"duplicate mediaType (type confusion)", "", `{"schemaVersion":2,"mediaType":"` + idx + `","mediaType":"` + oci +
			`","config":` + cfgJSON + `}`, ErrManifestInvalid},
		{"case-variant key", "", `{"schemaVersion":2,"MediaType":"` + idx + `","config":` + cfgJSON + `}`, ErrManifestInvalid},
		{"Unicode-folded key in a descriptor", oci, withLayer(`{"mediaType":"a/b","digest":"` + sha("l") + `","ſize":5}`), ErrManifestInvalid},
		{"duplicate key in a descriptor", oci, withLayer(`{"mediaType":"a/b","digest":"` + sha("l") + `","size":5,"size":6}`), ErrManifestInvalid},
		{"duplicate annotation", oci, image(`,"annotations":{"a":"1","a":"2"}`), ErrManifestInvalid},
		{"nested too deep", oci, image(`,"x":` + strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth)), ErrManifestInvalid},
		{"body mediaType disagrees with Content-Type", idx, image(``), ErrManifestInvalid},
		{"Docker schema 1 Content-Type", MediaTypeDockerSchema1Signed, `{"schemaVersion":1}`, ErrManifestUnsupported},
		{"Docker schema 1 body", "", `{"schemaVersion":1,"name":"a/b","tag":"t","fsLayers":[]}`, ErrManifestUnsupported},
		{"Docker schema 1 body mediaType", "", `{"schemaVersion":2,"mediaType":"` + MediaTypeDockerSchema1 + `"}`, ErrManifestUnsupported},
		{"OCI artifact manifest (withdrawn)", "application/vnd.oci.artifact.manifest.v1+json", `{}`, ErrManifestUnsupported},
		{"layer media type as Content-Type", MediaTypeOCILayerGzip, image(``), ErrManifestUnsupported},
		{"unparseable Content-Type", ";;;", image(``), ErrManifestUnsupported},
		{"unknown body mediaType", "", `{"schemaVersion":2,"mediaType":"text/plain"}`, ErrManifestUnsupported},
		{"schemaVersion missing", oci, `{"config":` + cfgJSON + `}`, ErrManifestInvalid},
		{"schemaVersion 3", oci, `{"schemaVersion":3,"config":` + cfgJSON + `}`, ErrManifestInvalid},
		{"schemaVersion string", oci, `{"schemaVersion":"2","config":` + cfgJSON + `}`, ErrManifestInvalid},
		{"schemaVersion 2.0", oci, `{"schemaVersion":2.0,"config":` + cfgJSON + `}`, ErrManifestInvalid},
		{"manifest with manifests (CVE-2021-41190)", oci, image(`,"manifests":[]`), ErrManifestInvalid},
		{"manifest with manifests null", oci, image(`,"manifests":null`), ErrManifestInvalid},
		{"index with layers", idx, `{"schemaVersion":2,"manifests":[],"layers":[]}`, ErrManifestInvalid},
		{"index with config", idx, `{"schemaVersion":2,"manifests":[],"config":` + cfgJSON + `}`, ErrManifestInvalid},
		{"index without manifests", idx, `{"schemaVersion":2}`, ErrManifestInvalid},
		{"index manifests not an array", idx, `{"schemaVersion":2,"manifests":{}}`, ErrManifestInvalid},
		{"config missing", oci, `{"schemaVersion":2,"layers":[]}`, ErrManifestInvalid},
		{"config null", oci, `{"schemaVersion":2,"config":null}`, ErrManifestInvalid},
		{"config not an object", oci, `{"schemaVersion":2,"config":5}`, ErrManifestInvalid},
		{"layers not an array", oci, `{"schemaVersion":2,"config":` + cfgJSON + `,"layers":{}}`, ErrManifestInvalid},
		{"descriptor without mediaType", oci, withLayer(`{"digest":"` + sha("l") + `","size":5}`), ErrManifestInvalid},
		{"descriptor mediaType with parameters", oci, withLayer(`{"mediaType":"a/b; x=y","digest":"` + sha("l") + `","size":5}`), ErrManifestInvalid},
		{"descriptor without digest", oci, withLayer(`{"mediaType":"a/b","size":5}`), ErrManifestInvalid},
		{"descriptor with malformed digest", oci, withLayer(`{"mediaType":"a/b","digest":"sha256:zz","size":5}`), ErrManifestInvalid},
		{"descriptor with uppercase digest", oci, withLayer(`{"mediaType":"a/b","digest":"` + strings.ToUpper(sha("l")) + `","size":5}`), ErrManifestInvalid},
		{"descriptor with traversal digest", oci, withLayer(`{"mediaType":"a/b","digest":"sha256:../../etc/passwd","size":5}`), ErrManifestInvalid},
		{"descriptor without size", oci, withLayer(`{"mediaType":"a/b","digest":"` + sha("l") + `"}`), ErrManifestInvalid},
		{"descriptor with negative size", oci, withLayer(`{"mediaType":"a/b","digest":"` + sha("l") + `","size":-1}`), ErrManifestInvalid},
		{"descriptor with fractional size", oci, withLayer(`{"mediaType":"a/b","digest":"` + sha("l") + `","size":1.5}`), ErrManifestInvalid},
		{"descriptor with string size", oci, withLayer(`{"mediaType":"a/b","digest":"` + sha("l") + `","size":"5"}`), ErrManifestInvalid},
		{"descriptor with huge size", oci, withLayer(`{"mediaType":"a/b","digest":"` + sha("l") + `","size":1e30}`), ErrManifestInvalid},
		{"descriptor artifactType", oci, withLayer(`{"mediaType":"a/b","digest":"` + sha("l") + `","size":5,"artifactType":"x"}`), ErrManifestInvalid},
		{"descriptor file URL", oci, withLayer(`{"mediaType":"a/b","digest":"` + sha("l") + `","size":5,"urls":["file:///etc/passwd"]}`), ErrManifestInvalid},
		{"descriptor relative URL", oci, withLayer(`{"mediaType":"a/b","digest":"` + sha("l") + `","size":5,"urls":["/x"]}`), ErrManifestInvalid},
		{"descriptor data not matching", oci, withLayer(`{"mediaType":"a/b","digest":"` + sha("l") + `","size":2,"data":"e30="}`), ErrManifestInvalid},
		{"descriptor data wrong size", oci, withLayer(`{"mediaType":"a/b","digest":"` + sha("{}") + `","size":3,"data":"e30="}`), ErrManifestInvalid},
		{"descriptor data not base64", oci, withLayer(`{"mediaType":"a/b","digest":"` + sha("l") + `","size":2,"data":"!!"}`), ErrManifestInvalid},
		{"descriptor annotation not a string", oci, withLayer(`{"mediaType":"a/b","digest":"` + sha("l") + `","size":5,"annotations":{"a":1}}`), ErrManifestInvalid},
		{"descriptor annotation empty key", oci, withLayer(`{"mediaType":"a/b","digest":"` + sha("l") + `","size":5,"annotations":{"":"x"}}`), ErrManifestInvalid},
		{"non-distributable layer without urls", oci, withLayer(`{"mediaType":"` + MediaTypeDockerForeignLayer + `","digest":"` + sha("l") + `","size":5}`), ErrManifestInvalid},
		{"manifest annotation empty key", oci, image(`,"annotations":{"":"x"}`), ErrManifestInvalid},
		{"manifest artifactType", oci, image(`,"artifactType":"nope"`), ErrManifestInvalid},
		{"subject with bad digest", oci, image(`,"subject":{"mediaType":"a/b","digest":"sha256:1","size":1}`), ErrManifestInvalid},
		{"Docker v2 without body mediaType", MediaTypeDockerManifest, `{"schemaVersion":2,"config":` + cfgJSON + `}`, ErrManifestInvalid},
		{"Docker list without body mediaType", MediaTypeDockerManifestList, `{"schemaVersion":2,"manifests":[]}`, ErrManifestInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseManifest(tt.contentType, []byte(tt.body))
			if !errors.Is(err, tt.want) || m != nil {
				t.Fatalf("ParseManifest = %v, %v; want %v", m, err, tt.want)
			}
		})
	}
}

func TestParseManifestSizeLimit(t *testing.T) {
	build := func(size int) []byte {
		base := image(`,"annotations":{"pad":""}`)
		return []byte(strings.Replace(base, `"pad":""`, `"pad":"`+strings.Repeat("a", size-len(base))+`"`, 1))
	}
	atLimit := build(MaxManifestSize)
	if len(atLimit) != MaxManifestSize {
		t.Fatalf("test body is %d bytes", len(atLimit))
	}
	if _, err := ParseManifest(MediaTypeOCIManifest, atLimit); err != nil {
		t.Errorf("manifest of exactly MaxManifestSize: %v", err)
	}
	_, err := ParseManifest(MediaTypeOCIManifest, build(MaxManifestSize+1))
	if !errors.Is(err, ErrManifestTooLarge) {
		t.Errorf("manifest of MaxManifestSize+1: %v, want ErrManifestTooLarge", err)
	}
}

func TestReadManifestBody(t *testing.T) {
	body, err := ReadManifestBody(iotest.HalfReader(bytes.NewReader(make([]byte, MaxManifestSize))))
	if err != nil || len(body) != MaxManifestSize {
		t.Errorf("at the limit: %d bytes, %v", len(body), err)
	}
	// An endless body is cut off just past the limit.
	counter := &countingReader{r: endless{}}
	_, err = ReadManifestBody(counter)
	if !errors.Is(err, ErrManifestTooLarge) || counter.n > MaxManifestSize+1 {
		t.Errorf("endless body: err %v after %d bytes", err, counter.n)
	}
	boom := errors.New("connection reset")
	if _, err := ReadManifestBody(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("read error: %v, want it wrapped", err)
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) { return len(p), nil }

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func BenchmarkParseManifest(b *testing.B) {
	typical := readTestManifest(b, "oci-image.json")
	// The largest body accepted, made of as many layers as fit: the worst
	// case a pusher can make the registry parse.
	var huge bytes.Buffer
	huge.WriteString(`{"schemaVersion":2,"config":` + cfgJSON + `,"layers":[`)
	for i := 0; ; i++ {
		layer := `{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"` + sha(strconv.Itoa(i)) + `","size":12345}`
		if huge.Len()+len(layer)+3 > MaxManifestSize {
			break
		}
		if i > 0 {
			huge.WriteByte(',')
		}
		huge.WriteString(layer)
	}
	huge.WriteString("]}")
	for name, body := range map[string][]byte{"typical": typical, "4MiB": huge.Bytes()} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := ParseManifest(MediaTypeOCIManifest, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
