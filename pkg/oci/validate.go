package oci

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// wireManifest is the JSON shape of both manifests and indexes. present
// holds the top-level keys (from checkJSONKeys), so that a member that is
// present but null counts: an index with "layers" or a manifest with
// "manifests" is refused as ambiguous.
type wireManifest struct {
	SchemaVersion *int              `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *wireDescriptor   `json:"config"`
	Layers        []wireDescriptor  `json:"layers"`
	Manifests     []wireDescriptor  `json:"manifests"`
	Subject       *wireDescriptor   `json:"subject"`
	Annotations   map[string]string `json:"annotations"`

	present map[string]struct{}
}

func (w *wireManifest) has(key string) bool {
	_, ok := w.present[key]
	return ok
}

type wireDescriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         *int64            `json:"size"`
	URLs         []string          `json:"urls"`
	Annotations  map[string]string `json:"annotations"`
	Data         []byte            `json:"data"`
	Platform     *Platform         `json:"platform"`
	ArtifactType string            `json:"artifactType"`
}

func decodeManifest(contentType string, body []byte) (*Manifest, error) {
	declared, err := declaredMediaType(contentType)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(body) {
		// encoding/json would silently replace invalid bytes with U+FFFD,
		// so the registry and a client could read different strings.
		return nil, invalidf(ErrManifestInvalid, "body is not valid UTF-8")
	}
	present, err := checkJSONKeys(body)
	if err != nil {
		return nil, invalidf(ErrManifestInvalid, "%v", err)
	}
	w := wireManifest{present: present}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, invalidf(ErrManifestInvalid, "%s", describeJSONError(err))
	}
	if w.SchemaVersion != nil && *w.SchemaVersion == 1 {
		return nil, invalidf(ErrManifestUnsupported, "Docker schema 1 manifests are not supported")
	}
	mt, err := resolveMediaType(declared, &w)
	if err != nil {
		return nil, err
	}
	if w.SchemaVersion == nil || *w.SchemaVersion != 2 {
		return nil, invalidf(ErrManifestInvalid, "schemaVersion must be 2")
	}
	if w.ArtifactType != "" && !IsValidMediaType(w.ArtifactType) {
		return nil, invalidf(ErrManifestInvalid, "artifactType %q is not a media type", truncate(w.ArtifactType))
	}
	if err := checkAnnotations("annotations", w.Annotations); err != nil {
		return nil, err
	}
	m := &Manifest{mediaType: mt, artifactType: w.ArtifactType, annotations: w.Annotations}
	if IsIndexMediaType(mt) {
		err = decodeIndex(m, &w)
	} else {
		err = decodeImage(m, &w)
	}
	if err != nil {
		return nil, err
	}
	if w.Subject != nil {
		d, err := decodeDescriptor(w.Subject, descriptorPath{"subject", -1})
		if err != nil {
			return nil, err
		}
		m.subject = &d
	}
	return m, nil
}

// declaredMediaType returns the bare Content-Type, or "" when the body's
// mediaType field should decide (no Content-Type, or plain JSON).
func declaredMediaType(contentType string) (string, error) {
	if strings.TrimSpace(contentType) == "" {
		return "", nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", invalidf(ErrManifestUnsupported, "Content-Type %q: %v", truncate(contentType), err)
	}
	if mt == "application/json" {
		return "", nil
	}
	if err := supportedMediaType(mt); err != nil {
		return "", err
	}
	return mt, nil
}

func supportedMediaType(mt string) error {
	switch {
	case mt == MediaTypeDockerSchema1 || mt == MediaTypeDockerSchema1Signed:
		return invalidf(ErrManifestUnsupported, "Docker schema 1 manifests are not supported")
	case !IsManifestMediaType(mt) && !IsIndexMediaType(mt):
		return invalidf(ErrManifestUnsupported, "media type %q is not an image manifest or index", truncate(mt))
	}
	return nil
}

// resolveMediaType applies the spec rule that a mediaType in the body must
// match the Content-Type, and falls back to the body, then to the shape of
// the document, when no Content-Type was declared.
func resolveMediaType(declared string, w *wireManifest) (string, error) {
	mt := declared
	switch {
	case declared != "" && w.MediaType != "" && w.MediaType != declared:
		return "", invalidf(ErrManifestInvalid, "mediaType %q does not match Content-Type %q", truncate(w.MediaType), declared)
	case declared == "" && w.MediaType != "":
		mt = w.MediaType
	case declared == "" && w.has("manifests"):
		mt = MediaTypeOCIIndex
	case declared == "":
		mt = MediaTypeOCIManifest
	}
	if err := supportedMediaType(mt); err != nil {
		return "", err
	}
	// Docker's schema 2 formats require the field (distribution enforces it too).
	if (mt == MediaTypeDockerManifest || mt == MediaTypeDockerManifestList) && w.MediaType != mt {
		return "", invalidf(ErrManifestInvalid, "Content-Type %s requires the same mediaType in the body", mt)
	}
	return mt, nil
}

func decodeImage(m *Manifest, w *wireManifest) error {
	if w.has("manifests") {
		return invalidf(ErrManifestInvalid, "an image manifest must not have a manifests field")
	}
	if w.Config == nil {
		return invalidf(ErrManifestInvalid, "an image manifest needs a config descriptor")
	}
	cfg, err := decodeDescriptor(w.Config, descriptorPath{"config", -1})
	if err != nil {
		return err
	}
	m.config = &cfg
	m.layers, err = decodeDescriptors(w.Layers, "layers")
	if err != nil {
		return err
	}
	for i, l := range m.layers {
		if IsNondistributable(l.MediaType) && len(l.URLs) == 0 {
			return invalidf(ErrManifestInvalid, "layers[%d]: a non-distributable layer needs urls", i)
		}
	}
	return nil
}

func decodeIndex(m *Manifest, w *wireManifest) error {
	if w.has("config") || w.has("layers") {
		return invalidf(ErrManifestInvalid, "an index must not have config or layers fields")
	}
	if !w.has("manifests") {
		return invalidf(ErrManifestInvalid, "an index needs a manifests field")
	}
	var err error
	m.manifests, err = decodeDescriptors(w.Manifests, "manifests")
	return err
}

func decodeDescriptors(items []wireDescriptor, field string) ([]Descriptor, error) {
	if items == nil {
		return nil, nil
	}
	out := make([]Descriptor, 0, len(items))
	for i := range items {
		d, err := decodeDescriptor(&items[i], descriptorPath{field, i})
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// descriptorPath names a descriptor in errors ("layers[3]"), formatted only
// when one is reported: a 4 MiB manifest holds tens of thousands.
type descriptorPath struct {
	field string
	index int // -1: not in an array
}

func (p descriptorPath) String() string {
	if p.index < 0 {
		return p.field
	}
	return p.field + "[" + strconv.Itoa(p.index) + "]"
}

// decodeDescriptor validates one descriptor.
func decodeDescriptor(w *wireDescriptor, path descriptorPath) (Descriptor, error) {
	if !IsValidMediaType(w.MediaType) {
		return Descriptor{}, invalidf(ErrManifestInvalid, "%s.mediaType %q is not a media type", path, truncate(w.MediaType))
	}
	dgst, err := ParseDigest(w.Digest)
	if err != nil {
		return Descriptor{}, invalidf(ErrManifestInvalid, "%s.digest: %v", path, err)
	}
	if w.Size == nil || *w.Size < 0 {
		return Descriptor{}, invalidf(ErrManifestInvalid, "%s.size must be a non-negative integer", path)
	}
	if w.ArtifactType != "" && !IsValidMediaType(w.ArtifactType) {
		return Descriptor{}, invalidf(ErrManifestInvalid, "%s.artifactType %q is not a media type", path, truncate(w.ArtifactType))
	}
	for i, u := range w.URLs {
		// The registry never fetches these (no SSRF); it only refuses
		// anything but absolute http(s) URLs so clients are not sent to
		// file:, data: or relative locations.
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return Descriptor{}, invalidf(ErrManifestInvalid, "%s.urls[%d] %q is not an absolute http(s) URL", path, i, truncate(u))
		}
	}
	if _, ok := w.Annotations[""]; ok {
		return Descriptor{}, invalidf(ErrManifestInvalid, "%s.annotations: keys must not be empty", path)
	}
	if w.Data != nil {
		if int64(len(w.Data)) != *w.Size || FromBytes(dgst.Algorithm(), w.Data) != dgst {
			return Descriptor{}, invalidf(ErrManifestInvalid, "%s.data does not match its digest and size", path)
		}
	}
	return Descriptor{
		MediaType:    w.MediaType,
		Digest:       dgst,
		Size:         *w.Size,
		URLs:         w.URLs,
		Annotations:  w.Annotations,
		Data:         w.Data,
		Platform:     w.Platform,
		ArtifactType: w.ArtifactType,
	}, nil
}

// checkAnnotations enforces the image-spec rule that keys are not empty.
func checkAnnotations(path string, a map[string]string) error {
	if _, ok := a[""]; ok {
		return invalidf(ErrManifestInvalid, "%s: keys must not be empty", path)
	}
	return nil
}

// describeJSONError words a decoding error for the client, without the Go
// type names encoding/json puts in its messages.
func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := typeErr.Field
		if field == "" {
			field = "value"
		}
		return fmt.Sprintf("%s: %s where %s is required", field, typeErr.Value, jsonKind(typeErr.Type.Kind()))
	}
	var b64Err base64.CorruptInputError
	if errors.As(err, &b64Err) {
		return "data: not valid base64"
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Sprintf("malformed JSON at offset %d: %v", syntaxErr.Offset, syntaxErr)
	}
	return "malformed JSON: " + err.Error()
}

// jsonKind names a Go kind the way a JSON author would.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64:
		return "an integer"
	}
	return "another type"
}
