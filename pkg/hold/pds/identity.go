package pds

import (
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/internal/keyfile"
)

// keyFileName is the signing key file inside the data directory. It holds the
// private key's Multibase string and nothing else.
const keyFileName = "signing.key"

// DIDDocument is the hold's did:web document served at /.well-known/did.json.
type DIDDocument struct {
	Context            []string                         `json:"@context"`
	ID                 syntax.DID                       `json:"id"`
	AlsoKnownAs        []string                         `json:"alsoKnownAs"`
	VerificationMethod []identity.DocVerificationMethod `json:"verificationMethod"`
	Service            []identity.DocService            `json:"service"`
}

// Service IDs and types in the DID document. The relay requires the
// #atproto_pds endpoint's host to equal the host it subscribes to.
const (
	serviceIDPDS    = "#atproto_pds"
	serviceTypePDS  = "AtprotoPersonalDataServer"
	serviceIDHold   = "#atcr_hold"
	serviceTypeHold = "AtcrHoldService"
)

// parsePublicURL checks the hold's public URL (scheme http or https, a host,
// no path, query or credentials) and returns it without a trailing slash.
func parsePublicURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("parse public URL %q: %w", raw, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("public URL %q: scheme must be http or https", raw)
	}
	if u.Hostname() == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("public URL %q: want scheme://host[:port] only", raw)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("public URL %q: must not have a path", raw)
	}
	if strings.Contains(u.Hostname(), ":") {
		return nil, fmt.Errorf("public URL %q: IPv6 literals cannot form a did:web", raw)
	}
	u.Path = ""
	u.Host = strings.ToLower(u.Host)
	return u, nil
}

// didWebFromURL builds did:web:<host> for the public URL. A port is
// percent-encoded (did:web:127.0.0.1%3A8080), as the did:web method requires.
func didWebFromURL(u *url.URL) (syntax.DID, error) {
	id := u.Hostname()
	if port := u.Port(); port != "" {
		id += "%3A" + port
	}
	did, err := syntax.ParseDID("did:web:" + id)
	if err != nil {
		return "", fmt.Errorf("build did:web for %s: %w", u.Host, err)
	}
	return did, nil
}

// loadOrCreateKey reads the signing key from dir, or generates a K-256 key
// on first start; internal/keyfile writes it 0600 and atomically, so hold
// processes starting together on one data directory agree on the key.
func loadOrCreateKey(dir string, log *slog.Logger) (atcrypto.PrivateKeyExportable, bool, error) {
	path := filepath.Join(dir, keyFileName)
	raw, created, err := keyfile.LoadOrCreate(path, func() ([]byte, error) {
		key, err := atcrypto.GeneratePrivateKeyK256()
		if err != nil {
			return nil, fmt.Errorf("generate signing key: %w", err)
		}
		return []byte(key.Multibase() + "\n"), nil
	}, log)
	if err != nil {
		return nil, false, fmt.Errorf("signing key: %w", err)
	}
	key, err := atcrypto.ParsePrivateMultibase(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, false, fmt.Errorf("parse signing key %s: %w", path, err)
	}
	return key, created, nil
}

// DIDDocument returns the hold's DID document: the #atproto Multikey and the
// #atproto_pds and #atcr_hold services, both at the public URL.
func (p *PDS) DIDDocument() DIDDocument {
	did := p.did.String()
	return DIDDocument{
		Context: []string{
			"https://www.w3.org/ns/did/v1",
			"https://w3id.org/security/multikey/v1",
			"https://w3id.org/security/suites/secp256k1-2019/v1",
		},
		ID:          p.did,
		AlsoKnownAs: []string{"at://" + p.handle},
		VerificationMethod: []identity.DocVerificationMethod{{
			ID:                 did + "#atproto",
			Type:               "Multikey",
			Controller:         did,
			PublicKeyMultibase: p.pub.Multibase(),
		}},
		Service: []identity.DocService{
			{ID: serviceIDPDS, Type: serviceTypePDS, ServiceEndpoint: p.publicURL},
			{ID: serviceIDHold, Type: serviceTypeHold, ServiceEndpoint: p.publicURL},
		},
	}
}

// DID returns the hold's DID.
func (p *PDS) DID() syntax.DID { return p.did }

// Handle returns the hold's handle: the public URL's host name without port.
func (p *PDS) Handle() string { return p.handle }

// PublicURL returns the hold's public URL (scheme://host[:port]).
func (p *PDS) PublicURL() string { return p.publicURL }

// PublicKey returns the public half of the repo signing key.
func (p *PDS) PublicKey() atcrypto.PublicKey { return p.pub }

// isSelf reports whether a repo parameter (DID or handle) names this hold.
func (p *PDS) isSelf(repo string) bool {
	return repo == p.did.String() || strings.EqualFold(repo, p.handle)
}
